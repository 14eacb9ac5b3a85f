"""The engine shared by the timed-trial drills (tracking, stretch, balance).

Each trial lasts a fixed time; rests are timed (``start_delay_s`` before the first trial,
``rest_s`` between trials, ``set_rest_s`` between sets). At a trial's end the subclass scores it:
``success``, ``failure``, or ``void`` when less than half of it was clean (artefact-free).
Events: ``set_start``, ``rep_start``, ``success`` / ``failure`` / ``rep_void``, ``rep_end`` with
the trial's metrics, ``set_end``, ``drill_end``. A failed trial says why in a few words
(:meth:`TimedTrialDrill._failure_reason`, into ``state.failure_reason`` and the ``failure`` event).
"""

from __future__ import annotations

from typing import Any

from feedback import events as ev
from feedback.drill_base import Drill
from feedback.drill_config import DrillConfig

EPS = 1e-9


class TimedTrialDrill(Drill):
    """Abstract: sets x reps of fixed-length trials separated by timed rests."""

    min_clean_fraction = 0.5

    def __init__(
        self, config: DrillConfig, *, fs_hz: float, n_channels: int, channel_names: list[str] | None = None
    ) -> None:
        super().__init__(config, fs_hz=fs_hz, n_channels=n_channels, channel_names=channel_names)
        proto = config.params["protocol"]
        self.reps_per_set = int(proto["reps"])
        self.sets = int(proto["sets"])
        self.rest_s = float(proto["rest_s"])
        self.set_rest_s = float(proto["set_rest_s"])
        self.start_delay_s = float(proto["start_delay_s"])
        self.flash_s = float(proto.get("success_flash_s", 0.8))
        self.results: list[dict[str, Any]] = []
        self.set_index = 0
        self.rep = 0
        self.attempted = self.succeeded = self.voided = 0
        self.phase = "idle"
        self._phase_t = 0.0
        self._phase_dur = 0.0
        self._clean = 0
        self._gated = 0
        self.state.reps_total = self.reps_per_set
        self.state.sets_total = self.sets
        self.state.reps_planned = self.reps_per_set * self.sets

    # ---- hooks ---------------------------------------------------------------------------
    def trial_duration_s(self) -> float:
        raise NotImplementedError

    def _trial_begin(self, t: float) -> dict[str, Any]:
        """Reset per-trial accumulators, set the cue; return the goal for ``rep_start``."""
        raise NotImplementedError

    def _trial_sample(self, t: float, tau: float, v: list[float], gated: bool) -> None:
        """One sample of the trial (``tau`` s since its start); gated samples are passed too."""
        raise NotImplementedError

    def _trial_score(self) -> tuple[bool, dict[str, Any]]:
        """(passed, metrics) at the trial's end."""
        raise NotImplementedError

    def _failure_reason(self, metrics: dict[str, Any]) -> str:
        """Why a trial with these metrics failed, in a few words a patient understands."""
        raise NotImplementedError

    def _rest_cue(self, t: float) -> None:
        self._set_cue(t, "rest", "REST", target_pct=0.0)

    def _trial_refresh(self, t: float, tau: float) -> None:
        """Live state during a trial (scores, moving markers)."""

    # ---- engine ---------------------------------------------------------------------------
    def _start(self, t: float) -> None:
        self.set_index = 1
        self.state.set_index = 1
        self._emit(ev.SET_START, t, set=1)
        self._enter_rest(t, self.start_delay_s)

    def _enter_rest(self, t: float, duration_s: float) -> None:
        self.phase, self._phase_t, self._phase_dur = "rest", t, duration_s
        self._rest_cue(t)

    def _step(self, t: float, values: list[float] | None, gated: bool) -> None:
        if self.finished:
            return
        if self.phase == "rest":
            if t - self._phase_t >= self._phase_dur - EPS:
                self._begin_trial(t)
                self._step(t, values, gated)
            return
        if self.phase == "trial":
            tau = t - self._phase_t
            if tau >= self._phase_dur - EPS:
                self._end_trial(t)
                self._step(t, values, gated)
                return
            if values is None:
                return
            if gated:
                self._gated += 1
            else:
                self._clean += 1
            self._trial_sample(t, tau, values, gated)

    def _begin_trial(self, t: float) -> None:
        self.rep += 1
        self.phase, self._phase_t, self._phase_dur = "trial", t, self.trial_duration_s()
        self._clean = self._gated = 0
        self._cue_time_s = t + self._offset_s
        self.state.rep, self.state.set_index = self.rep, self.set_index
        self.state.failure_reason = ""
        goal = self._trial_begin(t)
        self._emit(ev.REP_START, t, set=self.set_index, rep=self.rep, **goal)

    def _end_trial(self, t: float) -> None:
        passed, metrics = self._trial_score()
        total = self._clean + self._gated
        clean_fraction = self._clean / total if total else 0.0
        if clean_fraction < self.min_clean_fraction:
            result = "void"
        else:
            result = "success" if passed else "failure"
        metrics = {
            "set": self.set_index,
            "rep": self.rep,
            "result": result,
            "cue_time_s": round(self._cue_time_s, 6),
            "clean_fraction": round(clean_fraction, 6),
            "gated_s": round(self._gated * self.dt_s, 6),
            **metrics,
        }
        reason = self._failure_reason(metrics) if result == "failure" else ""
        self._count_result(t, result, reason, metrics["gated_s"])
        self._record_rep_end(t, metrics, self._enter_rest)

    def _refresh_state(self, t: float) -> None:
        left = self._phase_dur - (t - self._phase_t)
        self.state.countdown_s = max(0.0, left)
        if self.phase == "trial":
            self._trial_refresh(t, t - self._phase_t)

    def summary(self) -> dict[str, Any]:
        out = self._base_summary()
        out.update(
            {
                "reps_planned": self.reps_per_set * self.sets,
                "reps_attempted": self.attempted,
                "reps_succeeded": self.succeeded,
                "reps_void": self.voided,
                "success_rate": round(self.succeeded / (self.attempted - self.voided), 6)
                if self.attempted > self.voided
                else None,
                "sets_planned": self.sets,
                "reps": list(self.results),
            }
        )
        return out
