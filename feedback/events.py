"""Drill events: what the session records next to the raw data so a drill can be replayed and scored.

Every event is a :class:`DrillEvent` ``(label, t_s, data)``; ``data`` holds only JSON types
(str, int, float, bool, None, lists, dicts) so the recorder can write it to the sidecar as is.
``t_s`` is on the clock the session passes to ``Drill.update`` (seconds).

Labels (stable; offline analysis keys on them):

=====================  ==========================================================================
``drill_start``        ``{kind, name, config}``
``cue``                the instruction changed: ``{phase, text, target_pct, channel, band_pct, targets}``
``set_start``          ``{set}`` (1-based)
``set_end``            ``{set, attempted, succeeded}``
``rep_start``          ``{set, rep, band_pct | max_pct | ...}``
``success``            the rep's goal was met: ``{set, rep}``
``failure``            the work time ran out: ``{set, rep, reason}``
``rep_void``           the rep could not be judged because of artefacts: ``{set, rep, gated_s}``
``rep_end``            ``{set, rep, result, metrics...}`` (per-rep metrics, see each drill)
``threshold_change``   shaping or the therapist moved a threshold: ``{name, old_pct, new_pct, reason}``
                       (the therapist's Up/Down keys: ``name "band_pct"``, ``reason "therapist"``)
``phase_start``        assessment: a protocol phase began: ``{name, index, duration_s}``
``phase_end``          assessment: it ended: ``{name, index}``
``artefact``           a gated spell began: ``{channels, flags, message}``
``artefact_end``       it ended: ``{duration_s}``
``tense``              stretch drill: the stretched muscle tensed: ``{level_pct}``
``relaxed``            stretch drill: it let go again: ``{duration_s}``
``estimate_request``   awareness trial: the patient is asked for an estimate
``estimate``           ``{trial, estimate_pct, actual_pct, error_pct}``
``reveal``             the true level is shown: ``{trial, actual_pct, estimate_pct}``
``pause`` / ``resume`` the therapist paused / resumed (calibration: ``resume {phase_restarted}``)
``stop``               the drill was stopped before its end
``drill_end``          ``{summary}``
``calibration_*``      calibration flow: ``calibration_phase``, ``calibration_done``, ``calibration_refused``
=====================  ==========================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

DRILL_START = "drill_start"
DRILL_END = "drill_end"
CUE = "cue"
SET_START = "set_start"
SET_END = "set_end"
REP_START = "rep_start"
REP_END = "rep_end"
SUCCESS = "success"
FAILURE = "failure"
REP_VOID = "rep_void"
THRESHOLD_CHANGE = "threshold_change"
ARTEFACT = "artefact"
ARTEFACT_END = "artefact_end"
TENSE = "tense"
RELAXED = "relaxed"
ESTIMATE_REQUEST = "estimate_request"
ESTIMATE = "estimate"
REVEAL = "reveal"
PAUSE = "pause"
RESUME = "resume"
STOP = "stop"
PHASE_START = "phase_start"
PHASE_END = "phase_end"
CALIBRATION_PHASE = "calibration_phase"
CALIBRATION_DONE = "calibration_done"
CALIBRATION_REFUSED = "calibration_refused"

ALL_LABELS = (
    DRILL_START,
    DRILL_END,
    CUE,
    SET_START,
    SET_END,
    REP_START,
    REP_END,
    SUCCESS,
    FAILURE,
    REP_VOID,
    THRESHOLD_CHANGE,
    ARTEFACT,
    ARTEFACT_END,
    TENSE,
    RELAXED,
    ESTIMATE_REQUEST,
    ESTIMATE,
    REVEAL,
    PAUSE,
    RESUME,
    STOP,
    PHASE_START,
    PHASE_END,
    CALIBRATION_PHASE,
    CALIBRATION_DONE,
    CALIBRATION_REFUSED,
)


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats into plain JSON types (NaN/inf -> None)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy scalar or array
        return jsonable(tolist())
    return str(value)


@dataclass
class DrillEvent:
    """One thing that happened in a drill, at ``t_s`` seconds on the session clock."""

    label: str
    t_s: float
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.t_s = float(self.t_s)
        self.data = jsonable(self.data)

    def to_dict(self) -> dict[str, Any]:
        """``{"label", "time_s", "data"}``, ready for ``json.dumps``."""
        return {"label": self.label, "time_s": round(self.t_s, 6), "data": self.data}
