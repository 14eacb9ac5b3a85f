"""Tracking: follow a moving target (ramp, trapezoid, sine); score = RMS tracking error (% points).

The target over a trial of ``duration_s`` (``tau`` from 0):
ramp ``low + (high - low) * tau / D``; trapezoid rising over ``rise_s`` (D/3 when 0), a plateau,
falling over ``rise_s``; sine ``low + (high - low) * (1 - cos(2 pi tau / P)) / 2`` with period
``period_s`` (D/2 when 0), starting at ``low``. Per trial: ``rms_error_pct``, ``mean_error_pct``
(bias: + above the target), ``max_abs_error_pct``, and ``lag_s`` (the shift of the level, 0-1 s,
that best matches the target, 10 ms resolution). A trial succeeds when ``rms_error_pct <= max_rms_error_pct``.
Only clean samples count. The cue's ``target_pct`` follows the target every sample; one ``cue``
event per trial records the trajectory (not one per sample).

The view gets the path itself (``state.target_path_pct``): the target over the last ``HISTORY_S`` and
the next ``LOOKAHEAD_S`` seconds on a ``PATH_STEP_S`` grid, times relative to the frame; during a rest
it previews the coming trial. The therapist's Up/Down (:meth:`shift_band`) moves the whole trajectory
(``low_pct`` and ``high_pct``, recorded as ``band_pct``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from feedback import events as ev
from feedback.drill_base import moved_band
from feedback.state import Cue
from feedback.timed_trials import TimedTrialDrill

#: the path the view draws: this much of the past (s) ...
HISTORY_S = 8.0
#: ... and of the future (s), on a grid of PATH_STEP_S (at most 111 points)
LOOKAHEAD_S = 3.0
PATH_STEP_S = 0.1


def target_at(
    shape: str,
    tau_s: float,
    *,
    low_pct: float,
    high_pct: float,
    duration_s: float,
    rise_s: float = 0.0,
    period_s: float = 0.0,
) -> float:
    """The tracking target (%) ``tau_s`` seconds into a trial."""
    span = high_pct - low_pct
    tau = min(max(tau_s, 0.0), duration_s)
    if shape == "ramp":
        return low_pct + span * tau / duration_s
    if shape == "trapezoid":
        r = rise_s if rise_s > 0 else duration_s / 3.0
        if tau < r:
            return low_pct + span * tau / r
        if tau > duration_s - r:
            return low_pct + span * max(0.0, duration_s - tau) / r
        return high_pct
    if shape == "sine":
        p = period_s if period_s > 0 else duration_s / 2.0
        return low_pct + span * 0.5 * (1.0 - math.cos(2.0 * math.pi * tau / p))
    raise ValueError(f"unknown trajectory shape {shape!r}")


class TrackingDrill(TimedTrialDrill):
    """Follow ``[trajectory]`` with ``[target] channel``; pass when RMS error <= ``max_rms_error_pct``."""

    kind = "tracking"

    def _resolve_channels(self) -> list[int]:
        tr = self.config.params["trajectory"]
        self.trajectory = {k: tr[k] for k in ("low_pct", "high_pct", "duration_s", "rise_s", "period_s")}
        self.shape = tr["shape"]
        self.max_rms_error_pct = float(self.config.params["scoring"]["max_rms_error_pct"])
        self._levels: list[float] = []
        self._targets: list[float] = []
        self._clean_mask: list[bool] = []
        return [self.config.resolve_channel("target", "channel", self.channel_names, self.n_channels)]

    def target_at(self, tau_s: float) -> float:
        return target_at(self.shape, tau_s, **self.trajectory)

    def trial_duration_s(self) -> float:
        return float(self.trajectory["duration_s"])

    def _trial_begin(self, t: float) -> dict[str, Any]:
        self._levels, self._targets, self._clean_mask = [], [], []
        self._sq_sum, self._sq_n = 0.0, 0
        goal = {"shape": self.shape, **self.trajectory}
        self._set_cue(t, "contract", "FOLLOW", target_pct=self.target_at(0.0))
        return goal

    def _trial_sample(self, t: float, tau: float, v: list[float], gated: bool) -> None:
        target = self.target_at(tau)
        self._levels.append(v[0] if not gated else float("nan"))
        self._targets.append(target)
        self._clean_mask.append(not gated)
        if not gated:
            self._sq_sum += (v[0] - target) ** 2
            self._sq_n += 1
        # the cue follows the target silently (no event per sample)
        self.cue = Cue(
            phase="contract",
            target_pct=target,
            channel=self.channels[0],
            targets=((self.channels[0], target),),
            text="FOLLOW",
        )

    def target_path(self, t: float) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """The path around drill time ``t``: (times relative to ``t`` in s, target in %), covering
        ``[t - HISTORY_S, t + LOOKAHEAD_S]`` within the current trial (or the next one, during a rest)."""
        if self.finished:
            return None
        if self.phase == "trial":
            start = self._phase_t
        elif self.phase == "rest":
            start = self._phase_t + self._phase_dur  # a rest is always followed by a trial
        else:
            return None
        duration = self.trial_duration_s()
        k0 = max(0, math.ceil((t - HISTORY_S - start) / PATH_STEP_S - 1e-9))
        k1 = min(math.floor(duration / PATH_STEP_S + 1e-9), math.floor((t + LOOKAHEAD_S - start) / PATH_STEP_S + 1e-9))
        if k1 < k0:
            return None
        taus = [k * PATH_STEP_S for k in range(k0, k1 + 1)]
        return (
            tuple(round(start + tau - t, 6) for tau in taus),
            tuple(round(self.target_at(tau), 6) for tau in taus),
        )

    def _refresh_state(self, t: float) -> None:
        super()._refresh_state(t)
        self.state.target_path_pct = self.target_path(t)

    def _finish(self, t: float) -> None:
        super()._finish(t)
        self.state.target_path_pct = None

    def _shift_band(self, t: float, delta_pct: float) -> None:
        old = (float(self.trajectory["low_pct"]), float(self.trajectory["high_pct"]))
        new = moved_band(old, delta_pct)
        if new == old:
            return
        self.trajectory["low_pct"], self.trajectory["high_pct"] = new
        self._emit(ev.THRESHOLD_CHANGE, t, name="band_pct", old_pct=list(old), new_pct=list(new), reason="therapist")
        shown = self._t if self._t is not None else t  # the time of the frame on screen
        self.state.target_path_pct = self.target_path(shown)
        if self.phase == "trial":
            self.state.target_marker_pct = {self.channels[0]: self.target_at(shown - self._phase_t)}

    def _failure_reason(self, metrics: dict[str, Any]) -> str:
        rms = metrics.get("rms_error_pct")
        if rms is None:
            return "no clean signal in that trial"
        return f"too far from the path: off by {rms:.0f} % on average (at most {self.max_rms_error_pct:g})"

    def _errors(self) -> np.ndarray:
        lv = np.asarray(self._levels)
        tg = np.asarray(self._targets)
        m = np.asarray(self._clean_mask, dtype=bool)
        return (lv - tg)[m] if m.size else np.zeros(0)

    def _lag_s(self) -> float | None:
        step = max(1, int(round(self.fs_hz / 100.0)))  # search on a 100 Hz grid: 10 ms resolution
        lv = np.asarray(self._levels)[::step]
        tg = np.asarray(self._targets)[::step]
        m = np.asarray(self._clean_mask, dtype=bool)[::step]
        if m.sum() < 10:
            return None
        best, best_k = math.inf, 0
        for k in range(min(int(round(self.fs_hz / step)) + 1, lv.size // 2)):
            d = lv[k:] - tg[: lv.size - k]
            mk = m[k:]
            if mk.sum() < 10:
                break
            e = float(np.sqrt(np.mean(d[mk] ** 2)))
            if e < best - 1e-12:
                best, best_k = e, k
        return round(best_k * step * self.dt_s, 6)

    def _trial_score(self) -> tuple[bool, dict[str, Any]]:
        err = self._errors()
        if err.size == 0:
            return False, {"rms_error_pct": None, "mean_error_pct": None, "max_abs_error_pct": None, "lag_s": None}
        rms = float(np.sqrt(np.mean(err**2)))
        return rms <= self.max_rms_error_pct, {
            "band_pct": [self.trajectory["low_pct"], self.trajectory["high_pct"]],
            "rms_error_pct": round(rms, 6),
            "mean_error_pct": round(float(err.mean()), 6),
            "max_abs_error_pct": round(float(np.abs(err).max()), 6),
            "lag_s": self._lag_s(),
            "max_rms_error_pct": self.max_rms_error_pct,
        }

    def _rest_cue(self, t: float) -> None:
        self._set_cue(t, "rest", "REST", target_pct=0.0)
        self.state.target_marker_pct = {}

    def _trial_refresh(self, t: float, tau: float) -> None:
        ch = self.channels[0]
        self.state.target_marker_pct = {ch: self.target_at(tau)}
        self.state.thresholds_pct = {}
        self.state.score = {"rms_error_pct": round(math.sqrt(self._sq_sum / self._sq_n), 3) if self._sq_n else None}

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        rms = [r["rms_error_pct"] for r in self.results if r.get("rms_error_pct") is not None and r["result"] != "void"]
        out["mean_rms_error_pct"] = round(sum(rms) / len(rms), 6) if rms else None
        out["goal"] = {"shape": self.shape, **self.trajectory, "max_rms_error_pct": self.max_rms_error_pct}
        return out
