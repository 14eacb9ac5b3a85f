"""The two stages of a live session and what each keeps: calibrating, then the drill.

Both drive a state machine with the same face (``state``, ``cue``, ``finished``, ``pause``/``resume``
returning the events to record): :class:`CalibrationStage` a :class:`feedback.calibration_flow.CalibrationFlow`
fed the envelope in uV, :class:`DrillStage` a drill (:class:`feedback.drill_base.Drill`) fed activation in %
of the calibration's reference. No Qt, no board: the session passes them data and records their events.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from feedback.calibration_store import write_calibration
from feedback.errors import FeedbackError

if TYPE_CHECKING:
    from dsp.calibration import Calibration
    from feedback.calibration_flow import CalibrationFlow
    from feedback.drill_base import Drill
    from feedback.events import DrillEvent
    from feedback.state import Cue, DrillState

log = logging.getLogger(__name__)

#: on the rest scale the rest level reads this (low and calm) ...
REST_READS = 10.0
#: ... and this line (twice the rest level) is what the patient keeps under while resting
REST_LINE = 20.0
#: the first reference contraction's goal, in multiples of the rest level (later ones: the best so far)
FIRST_GOAL_X_REST = 10.0
SCALE_REST = f"{REST_READS:g} = your rest level"
SCALE_BEST = "% of your best so far"
SCALE_FIRST_GOAL = f"% of a first goal ({FIRST_GOAL_X_REST:g} x rest)"


class _Stage:
    """What both stages share: the state machine in charge, paused and resumed with the session."""

    name = ""
    machine: CalibrationFlow | Drill

    @property
    def state(self) -> DrillState:
        return self.machine.state

    @property
    def cue(self) -> Cue:
        return self.machine.cue

    @property
    def finished(self) -> bool:
        return self.machine.finished

    def pause(self, t_s: float) -> list[DrillEvent]:
        """Freeze (space, a lost board); the events to record."""
        return self.machine.pause(t_s)

    def resume(self, t_s: float) -> list[DrillEvent]:
        """Continue after :meth:`pause` (no-op when not paused); the events to record."""
        return self.machine.resume(t_s)


class CalibrationStage(_Stage):
    """Calibrating: rest, then reference contractions, with bars that show what each part asks.

    Resting (``state.stage == "calibration_rest"``): the envelope on a scale where the rest level reads
    ``REST_READS`` (10) and a line at ``REST_LINE`` (20, twice rest) to stay under, so rest looks calm and
    tension climbs. The rest level is the flow's clean rest so far, before it (PREPARE) the median of the
    chunk means seen. Contracting (``"calibration_reference"``): the envelope in % of the goal, drawn as a
    marker at 100: each channel's best contraction so far, for the first contraction ``FIRST_GOAL_X_REST``
    times its rest level. ``state.scale_label`` names the scale in force."""

    name = "calibration"

    def __init__(self, flow: CalibrationFlow) -> None:
        self.flow = flow
        self.machine = flow
        self.file: Path | None = None  # where the accepted calibration was saved
        self._prepare_means: list[np.ndarray] = []  # per-chunk means (C,) while no rest was measured yet
        self._reported = False

    @property
    def refusal(self) -> str:
        """Why the calibration was refused ('' while it runs or once accepted)."""
        if not self.flow.finished or self.flow.calibration is not None:
            return ""
        return self.flow.refusal or "calibration refused"

    def update(
        self, t_s: float, envelope_uv: np.ndarray, flags: np.ndarray, *, settled: bool
    ) -> tuple[np.ndarray, list[DrillEvent]]:
        """Feed the flow one chunk of envelope (C, n) in uV; returns (display values (C, n), events).

        The values are on the scale of the part running (see the class); ``state.scale_label`` says which.
        ``settled``: the filters' start-up transient is over (before it the bars stay at 0, so the
        transient does not set the scale)."""
        env = np.asarray(envelope_uv, dtype=np.float64)
        rest = self._rest_level()  # from the data before this chunk: tension now shows in full
        events = self.flow.update(t_s, env, flags)
        self._note_prepare(env, settled)
        st = self.flow.state
        n_ch = env.shape[0]
        if st.stage == "calibration_reference":
            best = self.flow.best_level_uv
            first = rest * FIRST_GOAL_X_REST if rest is not None else np.full(n_ch, np.nan)
            goal = np.where(np.isfinite(best), best, first)
            st.scale_label = SCALE_BEST if np.isfinite(best).all() else SCALE_FIRST_GOAL
            st.thresholds_pct = {}
            st.target_marker_pct = {c: 100.0 for c in range(n_ch)}
            scale = 100.0 / goal
        else:
            st.scale_label = SCALE_REST
            st.thresholds_pct = {c: [REST_LINE] for c in range(n_ch)}
            st.target_marker_pct = {}
            scale = REST_READS / rest if rest is not None else np.full(n_ch, np.nan)
        if not settled or env.shape[1] == 0:
            return np.zeros_like(env), events
        bars = env * scale[:, None]
        return np.where(np.isfinite(bars), bars, 0.0), events

    def _rest_level(self) -> np.ndarray | None:
        """The rest level (C,) in uV the scales use: the flow's clean rest so far, else what PREPARE showed."""
        level = self.flow.rest_level_uv
        if level is None:
            if not self._prepare_means:
                return None
            level = np.median(np.vstack(self._prepare_means), axis=0)
        level = np.asarray(level, dtype=np.float64)
        return np.where(np.isfinite(level) & (level > 0), level, np.nan)

    def _note_prepare(self, env: np.ndarray, settled: bool) -> None:
        """Keep the chunk's mean (C,) while the flow prepares (no rest measured yet)."""
        ok = np.isfinite(env)
        if settled and ok.any() and self.flow.rest_level_uv is None and self.flow.phase in ("prepare", "rest"):
            counts = ok.sum(axis=1)
            sums = np.where(ok, env, 0.0).sum(axis=1)
            self._prepare_means.append(np.where(counts > 0, sums / np.maximum(counts, 1), np.inf))

    def newly_finished(self) -> bool:
        """True once when the flow has finished (accepted or refused), until :meth:`restart`."""
        if self.flow.finished and not self._reported:
            self._reported = True
            return True
        return False

    def restart(self) -> None:
        """Calibrate again (R after a refusal)."""
        self.flow.restart()
        self._prepare_means = []
        self._reported = False

    def save(self, path: Path) -> Path | None:
        """Write the accepted calibration to ``path``; None (logged) when it cannot be written."""
        if self.flow.calibration is None:
            return None
        try:
            write_calibration(self.flow.calibration, path)
        except FeedbackError as err:
            log.warning("%s", err)
            return None
        self.file = path
        return path


class DrillStage(_Stage):
    """The drill, on activation in % of ``calibration``'s reference."""

    name = "drill"

    def __init__(self, drill: Drill, calibration: Calibration) -> None:
        self.drill = drill
        self.machine = drill
        self.calibration = calibration

    def update(
        self, t_s: float, activation_pct: np.ndarray, flags: np.ndarray, accel_g: np.ndarray | None
    ) -> list[DrillEvent]:
        """Feed the drill one chunk (the accelerometer only where the drill uses it); the events to record."""
        return self.drill.update(t_s, activation_pct, flags, accel_g if self.drill.uses_accel else None)

    def stop(self, t_s: float) -> list[DrillEvent]:
        """End the drill now (session over before the drill); the events to record."""
        return [] if self.drill.finished else self.drill.stop(t_s)
