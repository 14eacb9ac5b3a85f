"""What a drill publishes: the current :class:`Cue` (for the simulated patient and the recording)
and the :class:`DrillState` of the frame (for the view).

Levels, bands and thresholds are in % of the calibrated reference. Channel indices are 0-based
positions in the session's channel list (the TOML files use the board's 1-based numbers).
No Qt here: the view turns a state into its own frame with :meth:`DrillState.to_view_frame`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from feedback.events import jsonable

#: Cue phases the simulated patient understands.
PHASES = ("contract", "hold", "relax", "rest")


@dataclass(frozen=True)
class Cue:
    """The instruction in force.

    ``phase``: ``"contract"`` (go to the target), ``"hold"`` (stay there), ``"relax"`` (let go,
    below the rest threshold), ``"rest"`` (rest period, nothing asked). ``target_pct`` is the level
    asked of ``channel`` (the band's centre; 0 when relaxing). ``targets`` lists every channel with
    a goal as ``(channel, target_pct)`` pairs (isolation: the quiet channel at 0; symmetry: both sides).
    ``text`` is what the patient reads (``"CONTRACT"``, ``"HOLD"``, ``"RELAX"``, ``"REST"``, ``"DONE"``).
    """

    phase: str = "rest"
    target_pct: float = 0.0
    channel: int = 0
    band_pct: tuple[float, float] | None = None
    targets: tuple[tuple[int, float], ...] = ()
    text: str = "REST"

    def to_dict(self) -> dict[str, Any]:
        """``{"phase", "target_pct", "channel", "band_pct", "targets", "text"}`` (JSON types)."""
        return jsonable(
            {
                "phase": self.phase,
                "target_pct": self.target_pct,
                "channel": self.channel,
                "band_pct": list(self.band_pct) if self.band_pct is not None else None,
                "targets": [[c, p] for c, p in self.targets],
                "text": self.text,
            }
        )

    # Mapping-style access, so code written for a cue dict works with a Cue as well.
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)


@dataclass
class DrillState:
    """Everything the view shows for one frame, besides the activation stream itself.

    ``cue`` is the bare instruction word (``"HOLD"``); ``countdown_s`` the seconds left in the
    phase (the view shows ``HOLD 3``). ``bands_pct`` maps channel -> (lo, hi) target band;
    ``thresholds_pct`` channel -> threshold lines (rest threshold, quiet-channel ceiling, ...);
    ``target_marker_pct`` channel -> moving target (tracking). ``success`` is true while the
    success signal should flash; ``failure`` likewise for a missed rep. ``message`` is a
    secondary instruction; ``gating_message`` says why samples are not counting (artefacts).
    ``hidden`` hides the true level (awareness trials). ``reveal`` holds ``{estimate_pct,
    actual_pct}`` while an awareness result is shown. ``score`` carries live drill scores.

    What each drill kind scores, for the view to draw (all optional):
    ``ceilings_pct`` channel -> ceiling not to exceed (isolation's quiet muscle, down-training), drawn in its
    own colour and words, apart from ``thresholds_pct`` (the rest / relax line); ``target_path_pct`` the
    tracking path as ``(t_rel_s, pct)`` tuples on ``channel``, ``t_rel_s`` relative to this frame (negative:
    the past the history shows; positive: the look-ahead); ``sway_deg2`` / ``sway_limit_deg2`` the balance
    drill's sway area so far in this rep and its limit, ``tilt_deg`` the current (mediolateral,
    anteroposterior) tilt. ``failure_reason`` says in a few words why the last rep failed (shown with TRY
    AGAIN). ``reps_planned`` counts every rep of every set; ``stopped_early`` is set by an early stop.
    ``stage`` is ``"calibration_rest"``, ``"calibration_reference"`` or ``"drill"``; ``scale_label`` names
    what the levels are in (the view's axis title), e.g. ``"% of reference"``.
    """

    title: str = ""
    kind: str = ""
    phase: str = "rest"
    cue: str = "REST"
    countdown_s: float | None = None
    channel: int = 0
    bands_pct: dict[int, tuple[float, float]] = field(default_factory=dict)
    thresholds_pct: dict[int, list[float]] = field(default_factory=dict)
    target_marker_pct: dict[int, float] = field(default_factory=dict)
    rep: int = 0
    reps_total: int = 0
    set_index: int = 0
    sets_total: int = 0
    attempted: int = 0
    successes: int = 0
    success: bool = False
    failure: bool = False
    message: str = ""
    gating_message: str = ""
    hidden: bool = False
    reveal: dict[str, float | None] | None = None
    score: dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    finished: bool = False
    ceilings_pct: dict[int, float] = field(default_factory=dict)
    target_path_pct: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    sway_deg2: float | None = None
    sway_limit_deg2: float | None = None
    tilt_deg: tuple[float, float] | None = None
    failure_reason: str = ""
    reps_planned: int = 0
    stopped_early: bool = False
    stage: str = "drill"
    scale_label: str = "% of reference"

    @property
    def cue_text(self) -> str:
        """The cue with its countdown in whole seconds rounded up, e.g. ``"HOLD 3 s"`` (the unit keeps a
        countdown from reading as a rep number)."""
        from feedback.view_frame import cue_with_countdown

        return cue_with_countdown(self.cue, self.countdown_s)

    def display_message(self) -> str:
        """The gating reason when samples are not counting, else the instruction message."""
        return self.gating_message or self.message

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON types (for a summary or a debug dump)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["cue_text"] = self.cue_text
        return jsonable(out)

    def to_view_frame(self) -> Any:
        """This state as a ``feedback.view_frame.ViewFrame`` (the view's own frame type)."""
        from feedback.view_frame import ViewFrame

        return ViewFrame(
            cue=self.cue,
            countdown_s=self.countdown_s,
            phase=self.phase,
            channel=self.channel,
            bands_pct=dict(self.bands_pct),
            thresholds_pct={k: list(v) for k, v in self.thresholds_pct.items()},
            target_marker_pct=dict(self.target_marker_pct),
            rep=self.rep,
            reps_total=self.reps_total,
            set_index=self.set_index,
            sets_total=self.sets_total,
            successes=self.successes,
            success=self.success,
            message=self.display_message(),
            hidden=self.hidden,
            finished=self.finished,
            title=self.title,
            failure=self.failure,
            gating=bool(self.gating_message),
            ceilings_pct=dict(self.ceilings_pct),
            target_path_pct=self.target_path_pct,
            sway_deg2=self.sway_deg2,
            sway_limit_deg2=self.sway_limit_deg2,
            tilt_deg=self.tilt_deg,
            failure_reason=self.failure_reason,
            reps_planned=self.reps_planned,
            attempted=self.attempted,
            stopped_early=self.stopped_early,
            stage=self.stage,
            scale_label=self.scale_label,
        )
