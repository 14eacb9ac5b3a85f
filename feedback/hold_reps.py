"""The rep engine shared by the hold drills (reach-and-hold, isolation, symmetry, down-training).

One rep: CONTRACT cue -> the goal condition must hold for ``hold_s`` of clean samples
(brief excursions up to ``dropout_tolerance_s`` do not reset the hold) within ``work_s`` of the
cue -> success, else failure (or *void* when at least ``void_after_s`` of the rep was artefact).
Where the drill needs relaxation (``relax_required``), the muscle must then drop below
``rest_threshold_pct``: the rest countdown only runs on clean relaxed samples, and the next rep
never starts before at least one. Reps make sets; sets are separated by ``set_rest_s``.

Per-rep metrics (``rep_end`` event and ``summary()["reps"]``), times in s from the cue:
``reaction_time_s`` (first clean sample past the onset level), ``time_to_band_s`` (first sample
meeting the goal), ``time_in_band_s`` (clean samples meeting the goal, summed), ``longest_hold_s``,
``time_to_relax_s`` (from the rep's end to the first clean sample below the rest threshold; None if
it took longer than ``relax_timeout_s``), ``steadiness_sd_pct`` / ``steadiness_cv_pct`` (SD and
coefficient of variation of the level over the successful hold, or the longest hold of a missed
rep), ``hold_mean_pct`` (the level over that hold), ``mean_pct``, ``peak_pct`` (clean samples of the
work period), ``gated_s``.
A failed rep says why (``state.failure_reason``, the ``failure`` event's ``reason``): "held 1.2 of 3.0 s"
when the goal was met but not long enough, else the drill's own words ("not high enough: peak 22 of 30 %").
Timing rests on sample counts, so results are exact multiples of 1 / fs_hz.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from feedback import events as ev
from feedback.drill_base import Drill
from feedback.drill_config import DrillConfig
from feedback.shaping import Shaper

EPS = 1e-9
#: told when relaxing takes longer than RELAX_HINT_AFTER_S, or the muscle tenses during the rest
RELAX_HINT = "Let the muscle go completely: the rest counts only while it is quiet"
RELAX_HINT_AFTER_S = 2.0
#: during a rest, tension this long turns the REST cue back to RELAX
TENSE_CUE_AFTER_S = 0.2


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


class HoldRepDrill(Drill):
    """Abstract rep engine; subclasses define the goal condition and what the patient is told."""

    relax_required = True

    def __init__(
        self, config: DrillConfig, *, fs_hz: float, n_channels: int, channel_names: list[str] | None = None
    ) -> None:
        super().__init__(config, fs_hz=fs_hz, n_channels=n_channels, channel_names=channel_names)
        proto = config.params["protocol"]
        target = config.params["target"]
        self.reps_per_set = int(proto["reps"])
        self.sets = int(proto["sets"])
        self.rest_s = float(proto["rest_s"])
        self.set_rest_s = float(proto["set_rest_s"])
        self.start_delay_s = float(proto["start_delay_s"])
        self.work_s = float(proto["work_s"])
        self.flash_s = float(proto["success_flash_s"])
        self.rest_threshold_pct = float(proto.get("rest_threshold_pct", 0.0))
        self.relax_timeout_s = float(proto.get("relax_timeout_s", math.inf))
        self.hold_s = float(target["hold_s"])
        self.hold_needed = max(1, self._n(self.hold_s))
        self.dropout_allowed = math.floor(float(target["dropout_tolerance_s"]) * self.fs_hz + 1e-6)
        self.shaper = self._make_shaper(config.params.get("shaping"))
        self.results: list[dict[str, Any]] = []
        self.set_index = 0
        self.rep = 0
        self.attempted = 0
        self.succeeded = 0
        self.voided = 0
        self.phase = "idle"
        self._pending: dict[str, Any] | None = None
        self._pending_end_t = 0.0
        self._rest_t = 0.0
        self._rest_count = 0
        self._rest_needed = 0
        self._rest_dur = 0.0
        self._work: dict[str, Any] = {}
        self.state.reps_total = self.reps_per_set
        self.state.sets_total = self.sets
        self.state.reps_planned = self.reps_per_set * self.sets

    # ---- hooks ---------------------------------------------------------------------------
    def _make_shaper(self, shaping: dict[str, Any] | None) -> Shaper:
        raise NotImplementedError

    def _in_goal(self, v: list[float]) -> bool:
        raise NotImplementedError

    def _onset(self, v: list[float]) -> bool:
        return v[0] >= self.rest_threshold_pct

    def _relaxed(self, v: list[float]) -> bool:
        return max(v) < self.rest_threshold_pct

    def _primary(self, v: list[float]) -> float:
        return v[0]

    def _goal(self) -> dict[str, Any]:
        """What the rep asks for (goes into rep_start and the rep's metrics)."""
        raise NotImplementedError

    def _work_cue(self, t: float, holding: bool) -> None:
        raise NotImplementedError

    def _rest_cue(self, t: float, relaxed: bool) -> None:
        if relaxed or not self.relax_required:
            self._set_cue(t, "rest", "REST", target_pct=0.0, targets=tuple((c, 0.0) for c in self.channels))
        else:
            self._set_cue(t, "relax", "RELAX", target_pct=0.0, targets=tuple((c, 0.0) for c in self.channels))

    def _goal_state(self) -> None:
        """Fill ``state.bands_pct`` / ``state.thresholds_pct`` for the current goal."""
        raise NotImplementedError

    def _extra_sample(self, v: list[float]) -> None:
        """Accumulate drill-specific per-rep figures from a clean work sample."""

    def _extra_metrics(self) -> dict[str, Any]:
        return {}

    def _work_message(self, v: list[float]) -> str:
        return ""

    def _miss_reason(self, values: list[float]) -> str:
        """Why a rep that never met the goal failed, in a few words (``values``: its clean primary levels)."""
        return "goal not reached"

    def _failure_reason(self) -> str:
        """Why the rep in ``self._work`` failed: too short a hold, or the drill's :meth:`_miss_reason`."""
        w = self._work
        if w["first_band"] is not None:
            return f"held {w['best_hold'] * self.dt_s:.1f} of {self.hold_s:.1f} s"
        if not w["values"]:
            return "no clean signal in that rep"
        return self._miss_reason(w["values"])

    # ---- engine ---------------------------------------------------------------------------
    def _start(self, t: float) -> None:
        self.set_index = 1
        self.state.set_index = 1
        self._emit(ev.SET_START, t, set=1)
        self._enter_rest(t, self.start_delay_s)
        self._goal_state()

    def _enter_rest(self, t: float, duration_s: float) -> None:
        self.phase = "rest"
        self._rest_t = t
        self._rest_count = 0
        self._tense_n = 0
        self._rest_dur = duration_s
        self._rest_needed = max(1, self._n(duration_s)) if self.relax_required else self._n(duration_s)
        self._rest_cue(t, relaxed=self._pending is None)

    def _step(self, t: float, values: list[float] | None, gated: bool) -> None:
        if self.finished:
            return
        if self.phase == "rest":
            self._step_rest(t, values, gated)
        elif self.phase == "work":
            self._step_work(t, values, gated)

    def _step_rest(self, t: float, v: list[float] | None, gated: bool) -> None:
        if self.finished:
            return
        relaxed = v is not None and not gated and self._relaxed(v)
        if self._pending is not None:
            if relaxed and self.relax_required:
                self._pending["time_to_relax_s"] = _round(t - self._pending_end_t)
                self._close_rep(t)
            elif t - self._pending_end_t >= self.relax_timeout_s - EPS:
                self._pending["time_to_relax_s"] = None
                self._close_rep(t)
            if self.finished:
                return
        if self.relax_required:
            if v is None:
                return  # a clock tick: nothing to judge
            if relaxed:
                self._rest_count += 1
                self._tense_n = 0
            else:
                self._tense_n += 1
            # REST shows at once; back to RELAX only after TENSE_CUE_AFTER_S of tension, so a level
            # hovering at the threshold does not flip the cue every sample
            showing_rest = self.cue is not None and self.cue.phase == "rest"
            if relaxed or not showing_rest or self._tense_n >= self._n(TENSE_CUE_AFTER_S):
                self._rest_cue(t, relaxed)
            if self._pending is None and self._rest_count >= self._rest_needed:
                self._begin_rep(t + self.dt_s)  # the rest ends with this sample
        elif self._pending is None and t - self._rest_t >= self._rest_dur - EPS:
            self._begin_rep(t)  # the rest ended before this sample: it is the rep's first
            self._step_work(t, v, gated)

    def _begin_rep(self, t: float) -> None:
        self.rep += 1
        self.phase = "work"
        self._work = {
            "t0": t,
            "cue_time_s": t + self._offset_s,
            "reaction": None,
            "first_band": None,
            "in_goal": 0,
            "hold": 0,
            "best_hold": 0,
            "run": [],
            "best_run": [],
            "dropout": 0,
            "holding": False,
            "gated": 0,
            "values": [],
        }
        self.state.rep = self.rep
        self.state.set_index = self.set_index
        self.state.message = ""
        self.state.failure_reason = ""
        self._emit(ev.REP_START, t, set=self.set_index, rep=self.rep, **self._goal())
        self._work_cue(t, holding=False)

    def _step_work(self, t: float, v: list[float] | None, gated: bool) -> None:
        w = self._work
        elapsed = t - w["t0"]
        if elapsed >= self.work_s - EPS:
            self._end_rep(t, "timeout")
            self._step_rest(t, v, gated)
            return
        if v is None or gated:
            if v is not None:
                w["gated"] += 1
            return
        p = self._primary(v)
        w["values"].append(p)
        self._extra_sample(v)
        if w["reaction"] is None and self._onset(v):
            w["reaction"] = elapsed
        if self._in_goal(v):
            w["in_goal"] += 1
            if w["first_band"] is None:
                w["first_band"] = elapsed
            w["hold"] += 1
            w["best_hold"] = max(w["best_hold"], w["hold"])
            w["dropout"] = 0
            w["run"].append(p)
            w["holding"] = True
            if w["hold"] >= self.hold_needed:
                self._end_rep(t + self.dt_s, "success")  # the hold is complete at this sample's end
                return
        elif w["holding"]:
            w["dropout"] += 1
            if w["dropout"] > self.dropout_allowed:
                if len(w["run"]) > len(w["best_run"]):
                    w["best_run"] = w["run"]
                w["run"], w["hold"], w["dropout"], w["holding"] = [], 0, 0, False
            else:
                w["run"].append(p)
        self.state.message = self._work_message(v)
        self._work_cue(t, holding=w["holding"])

    def _end_rep(self, t: float, outcome: str) -> None:
        w = self._work
        gated_s = w["gated"] * self.dt_s
        if outcome == "success":
            result = "success"
        elif gated_s > 0 and gated_s >= self.void_after_s - EPS:
            result = "void"
        else:
            result = "failure"
        run = w["run"] if result == "success" or len(w["run"]) >= len(w["best_run"]) else w["best_run"]
        run_arr = np.asarray(run, dtype=np.float64)
        sd = float(run_arr.std()) if run_arr.size else None
        mean_run = float(run_arr.mean()) if run_arr.size else None
        cv = (100.0 * sd / mean_run) if sd is not None and mean_run else None
        values = w["values"]
        metrics = {
            "set": self.set_index,
            "rep": self.rep,
            "result": result,
            **self._goal(),
            "cue_time_s": _round(w["cue_time_s"]),
            "reaction_time_s": _round(w["reaction"]),
            "time_to_band_s": _round(w["first_band"]),
            "time_in_band_s": _round(w["in_goal"] * self.dt_s),
            "longest_hold_s": _round(w["best_hold"] * self.dt_s),
            "time_to_relax_s": None,
            "steadiness_sd_pct": _round(sd),
            "steadiness_cv_pct": _round(cv),
            "hold_mean_pct": _round(mean_run),
            "mean_pct": _round(float(np.mean(values))) if values else None,
            "peak_pct": _round(max(values)) if values else None,
            "gated_s": _round(gated_s),
            **self._extra_metrics(),
        }
        self._count_result(t, result, self._failure_reason() if result == "failure" else "", _round(gated_s))
        self.state.message = "Not counted: too much artefact in that rep" if result == "void" else ""
        change = self.shaper.record(result)
        if change:
            self._apply_shaping(change["new_pct"])
            self._emit(ev.THRESHOLD_CHANGE, t, **change)
            self._goal_state()
        self._pending = metrics
        self._pending_end_t = t
        self._enter_rest(t, 0.0)
        if not self.relax_required:
            self._close_rep(t)

    def _apply_shaping(self, new_value_pct: float) -> None:
        raise NotImplementedError

    def _therapist_change(self, t: float, name: str, old: Any, new: Any) -> None:
        """Record a therapist's move (``threshold_change``, reason "therapist") and show it at once."""
        self._emit(ev.THRESHOLD_CHANGE, t, name=name, old_pct=old, new_pct=new, reason="therapist")
        self._goal_state()
        if self.phase == "work":
            self._work_cue(t, holding=self._work["holding"])

    def _close_rep(self, t: float) -> None:
        metrics, self._pending = self._pending, None
        assert metrics is not None
        self._record_rep_end(t, metrics, self._set_rest_duration)

    def _before_stop(self, t: float) -> None:
        if self._pending is not None:  # stopped while waiting for relaxation: keep the rep's metrics
            self._pending["time_to_relax_s"] = None
            metrics, self._pending = self._pending, None
            self.results.append(metrics)
            self._emit(ev.REP_END, t, **metrics)

    def _set_rest_duration(self, t: float, duration_s: float) -> None:
        """Keep the relaxed samples already counted since the rep ended; set how many are needed."""
        self._rest_dur = duration_s
        self._rest_needed = max(1, self._n(duration_s)) if self.relax_required else self._n(duration_s)
        if not self.relax_required:
            self._rest_t = t

    def _refresh_state(self, t: float) -> None:
        st = self.state
        if self.phase == "work":
            w = self._work
            st.countdown_s = (self.hold_needed - w["hold"]) * self.dt_s if w["holding"] else None
            st.score = {"time_left_s": _round(max(0.0, self.work_s - (t - w["t0"])))}
        elif self.phase == "rest":
            if self.relax_required:
                left = (self._rest_needed - self._rest_count) * self.dt_s
            else:
                left = self._rest_dur - (t - self._rest_t)
            st.countdown_s = max(0.0, left) if st.phase == "rest" else None
            slow = self._pending is not None and t - self._pending_end_t >= RELAX_HINT_AFTER_S
            tensed = self._pending is None and self._rest_count > 0
            if st.phase == "relax" and (slow or tensed):
                st.message = RELAX_HINT
            elif st.message == RELAX_HINT:
                st.message = ""

    def summary(self) -> dict[str, Any]:
        out = self._base_summary()
        out.update(
            {
                "reps_planned": self.reps_per_set * self.sets,
                "reps_attempted": self.attempted,
                "reps_succeeded": self.succeeded,
                "reps_void": self.voided,
                "success_rate": _round(self.succeeded / (self.attempted - self.voided))
                if self.attempted > self.voided
                else None,
                "sets_planned": self.sets,
                "goal": self._goal(),
                "threshold_changes": list(self.shaper.history),
                # a rep whose result is known but which still waits for relaxation is listed too
                "reps": list(self.results) + ([dict(self._pending)] if self._pending is not None else []),
            }
        )
        return out
