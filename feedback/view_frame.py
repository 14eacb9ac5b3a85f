"""What one frame of the live view shows, independent of the drill that produced it.

The view draws a :class:`ViewFrame`; :func:`frame_from_state` turns whatever the drill publishes
(``feedback.state`` objects, a plain dict, or a ``ViewFrame``) into one, so the view never needs
to know which drill kind is running. No Qt here.

Units: every level, band and threshold is in % of the calibrated reference (``*_pct``).
Channel indices are 0-based positions in the session's channel list.
"""

from __future__ import annotations

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
        """The cue with its countdown, e.g. ``"HOLD 3"`` (whole seconds, rounded up)."""
        cue = (self.cue or "").upper()
        if self.countdown_s is not None and cue and self.countdown_s > 0:
            secs = int(-(-float(self.countdown_s) // 1))  # ceil
            return f"{cue} {secs}"
        return cue


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj and obj[name] is not None:
                return obj[name]
        else:
            value = getattr(obj, name, None)
            if value is not None:
                return value
    return default


def _as_band(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        lo, hi = value
        return float(lo), float(hi)
    except (TypeError, ValueError):
        return None


def _channel_map(value: Any, default_channel: int | None) -> dict[int, Any]:
    """Accept ``{ch: v}``, ``[(ch, v), ...]`` or a bare value meaning the target channel."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            try:
                out[int(k)] = v
            except (TypeError, ValueError):
                continue
        return out
    if default_channel is None:
        return {}
    return {default_channel: value}


def frame_from_state(state: Any) -> ViewFrame:
    """Normalise a drill's published state (object, dict, or ViewFrame) into a :class:`ViewFrame`."""
    if state is None:
        return ViewFrame()
    if isinstance(state, ViewFrame):
        return state
    to_view = getattr(state, "to_view_frame", None)
    if callable(to_view):
        produced = to_view()
        if isinstance(produced, ViewFrame):
            produced.failure = bool(getattr(state, "failure", False))
            produced.gating = bool(getattr(state, "gating_message", ""))
            return produced
    channel = _get(state, "channel", "target_channel")
    channel = int(channel) if channel is not None else None

    bands: dict[int, tuple[float, float]] = {}
    for ch, v in _channel_map(_get(state, "bands_pct", "bands"), channel).items():
        band = _as_band(v)
        if band is not None:
            bands[ch] = band
    band = _as_band(_get(state, "target_band_pct", "band_pct", "target_band"))
    if band is not None and channel is not None:
        bands.setdefault(channel, band)

    thresholds: dict[int, list[float]] = {}
    raw_thr = _get(state, "thresholds_pct", "thresholds")
    for ch, v in _channel_map(raw_thr, channel).items():
        if isinstance(v, (list, tuple)):
            thresholds[ch] = [float(x) for x in v if x is not None]
        else:
            try:
                thresholds[ch] = [float(v)]
            except (TypeError, ValueError):
                continue
    rest_thr = _get(state, "rest_threshold_pct", "relax_threshold_pct")
    if rest_thr is not None and channel is not None:
        thresholds.setdefault(channel, []).append(float(rest_thr))

    markers: dict[int, float] = {}
    for ch, v in _channel_map(_get(state, "target_marker_pct", "moving_target_pct", "target_now_pct"), channel).items():
        try:
            markers[ch] = float(v)
        except (TypeError, ValueError):
            continue

    countdown = _get(state, "countdown_s", "remaining_s", "phase_remaining_s")
    return ViewFrame(
        cue=str(_get(state, "cue_text", "cue", default="") or ""),
        countdown_s=float(countdown) if countdown is not None else None,
        phase=str(_get(state, "phase", default="") or ""),
        channel=channel,
        bands_pct=bands,
        thresholds_pct=thresholds,
        target_marker_pct=markers,
        rep=int(_get(state, "rep", "rep_index", default=0) or 0),
        reps_total=int(_get(state, "reps_total", "reps", "n_reps", default=0) or 0),
        set_index=int(_get(state, "set_index", "set", "set_number", default=0) or 0),
        sets_total=int(_get(state, "sets_total", "sets", "n_sets", default=0) or 0),
        successes=int(_get(state, "successes", "n_success", "succeeded", default=0) or 0),
        success=bool(_get(state, "success", "success_flash", default=False)),
        failure=bool(_get(state, "failure", default=False)),
        gating=bool(_get(state, "gating_message", default="")),
        message=str(_get(state, "message", "gating_message", "instruction", default="") or ""),
        hidden=bool(_get(state, "hidden", "display_hidden", default=False)),
        finished=bool(_get(state, "finished", default=False)),
        title=str(_get(state, "title", "drill_name", "name", default="") or ""),
    )
