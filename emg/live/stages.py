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
    """Calibrating: rest, then reference contractions. Until a reference exists the bars show the
    envelope in % of the highest level seen so far."""

    name = "calibration"

    def __init__(self, flow: CalibrationFlow) -> None:
        self.flow = flow
        self.machine = flow
        self.file: Path | None = None  # where the accepted calibration was saved
        self._highest = np.full(flow.n_channels, 1e-9)
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
        """Feed the flow one chunk; returns (bars in % of the highest envelope so far, events).

        ``settled``: the filters' start-up transient is over (before it the bars stay at 0, so the
        transient does not set the scale)."""
        events = self.flow.update(t_s, envelope_uv, flags)
        if settled:
            self._highest = np.maximum(self._highest, np.nanmax(envelope_uv, axis=1))
            bars = 100.0 * envelope_uv / self._highest[:, None]
        else:
            bars = np.zeros_like(envelope_uv)
        return bars, events

    def newly_finished(self) -> bool:
        """True once when the flow has finished (accepted or refused), until :meth:`restart`."""
        if self.flow.finished and not self._reported:
            self._reported = True
            return True
        return False

    def restart(self) -> None:
        """Calibrate again (R after a refusal)."""
        self.flow.restart()
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
