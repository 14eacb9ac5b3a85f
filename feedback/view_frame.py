"""What one frame of the live view shows, independent of the drill that produced it.

The view draws a :class:`ViewFrame`; :func:`frame_from_state` turns what the drill publishes
(a ``feedback.state.DrillState``, a ``ViewFrame`` or a plain dict of ``ViewFrame`` field names) into one,
so the view never needs to know which drill kind is running. No Qt here.

Units: every level, band and threshold is in % of the calibrated reference (``*_pct``).
Channel indices are 0-based positions in the session's channel list.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ViewFrame:
    """Everything the view draws besides the activation stream itself."""

    cue: str = ""  # big instruction: CONTRACT / HOLD / RELAX / REST / DONE ...
    countdown_s: float | None = None  # seconds left in the current phase (HOLD 3-2-1)
    phase: str = ""
    channel: int | None = None  # the target channel
    bands_pct: dict[int, tuple[float, float]] = field(default_factory=dict)  # channel -> (lo, hi)
    thresholds_pct: dict[int, list[float]] = field(default_factory=dict)  # channel -> lines
    target_marker_pct: dict[int, float] = field(default_factory=dict)  # moving target (tracking)
    rep: int = 0
    reps_total: int = 0
    set_index: int = 0
    sets_total: int = 0
    successes: int = 0
    success: bool = False  # flash the success signal this frame
    failure: bool = False  # the rep was missed (shown as TRY AGAIN)
    gating: bool = False  # ``message`` says why samples are not counting (artefact)
    message: str = ""  # gating reason, instructions, estimate prompt
    hidden: bool = False  # awareness trial: the true level is hidden
    finished: bool = False
    title: str = ""  # drill name
    ceilings_pct: dict[int, float] = field(default_factory=dict)  # channel -> ceiling (own colour, own words)
    target_path_pct: tuple[tuple[float, ...], tuple[float, ...]] | None = None  # (t_rel_s, pct), look-ahead > 0
    sway_deg2: float | None = None  # balance: sway area so far in this rep
    sway_limit_deg2: float | None = None
    tilt_deg: tuple[float, float] | None = None  # balance: current (mediolateral, anteroposterior) tilt
    failure_reason: str = ""  # why the last rep failed, a few words
    reps_planned: int = 0  # every rep of every set
    attempted: int = 0
    stopped_early: bool = False
    stage: str = "drill"  # "calibration_rest" | "calibration_reference" | "drill"
    scale_label: str = "% of reference"  # what the levels are in

    def cue_text(self) -> str:
        """The cue with its countdown, e.g. ``"HOLD 3 s"`` (see :func:`cue_with_countdown`)."""
        return cue_with_countdown((self.cue or "").upper(), self.countdown_s)


def cue_with_countdown(cue: str, countdown_s: float | None) -> str:
    """``cue`` and the seconds left, whole seconds rounded up, with their unit (``"HOLD 3 s"``): a bare
    number after a cue reads as a rep number. Just ``cue`` when there is no countdown."""
    if countdown_s is not None and cue and countdown_s > 0:
        return f"{cue} {math.ceil(float(countdown_s) - 1e-9)} s"
    return cue


def frame_from_state(state: Any) -> ViewFrame:
    """A :class:`ViewFrame` from a drill's state: a ``feedback.state.DrillState`` (anything with
    ``to_view_frame()``), a ``ViewFrame``, or a plain dict of ``ViewFrame`` field names (unknown keys are
    ignored; ``bands_pct``, ``thresholds_pct``, ``ceilings_pct`` and ``target_marker_pct`` keys become ints)."""
    if state is None:
        return ViewFrame()
    if isinstance(state, ViewFrame):
        return state
    to_view = getattr(state, "to_view_frame", None)
    if callable(to_view):
        produced = to_view()
        if isinstance(produced, ViewFrame):
            return produced
    if not isinstance(state, Mapping):
        raise TypeError(f"cannot draw a {type(state).__name__}: give a DrillState, a ViewFrame or a dict of its fields")
    fields = {f.name for f in dataclasses.fields(ViewFrame)}
    kw = {k: v for k, v in state.items() if k in fields and v is not None}
    for key in ("bands_pct", "thresholds_pct", "ceilings_pct", "target_marker_pct"):
        if key in kw:
            kw[key] = {int(ch): v for ch, v in dict(kw[key]).items()}
    if "bands_pct" in kw:
        kw["bands_pct"] = {ch: (float(v[0]), float(v[1])) for ch, v in kw["bands_pct"].items()}
    if "thresholds_pct" in kw:
        kw["thresholds_pct"] = {
            ch: [float(x) for x in (v if isinstance(v, (list, tuple)) else [v])]
            for ch, v in kw["thresholds_pct"].items()
        }
    if kw.get("channel") is not None:
        kw["channel"] = int(kw["channel"])
    return ViewFrame(**kw)
