"""Relaxed stretch: hold a stretch for ``hold_s`` while the stretched muscle stays below ``max_pct``.

Stretching works better relaxed: when the level stays at or above ``max_pct`` for
``tense_grace_s`` the patient is told (``tense`` event, message "Tensing: breathe out and let
it go"); a ``relaxed`` event follows when it drops below again. Per trial: ``relaxed_fraction``
(clean samples below the threshold / clean samples), ``tense_episodes``, ``tense_s``, ``mean_pct``,
``peak_pct``. A trial succeeds when ``relaxed_fraction >= min_relaxed_fraction``. ``max_pct`` is the
relax line (``state.thresholds_pct``); the therapist's Up/Down (:meth:`shift_band`) moves it
(``threshold_change`` named ``ceiling_pct``).
"""

from __future__ import annotations

from typing import Any

from feedback import events as ev
from feedback.drill_base import moved_ceiling
from feedback.timed_trials import TimedTrialDrill

TENSE_MESSAGE = "Tensing: breathe out and let it go"


class StretchDrill(TimedTrialDrill):
    """Stay below ``[target] max_pct`` during a ``hold_s`` stretch."""

    kind = "stretch"

    def _resolve_channels(self) -> list[int]:
        t = self.config.params["target"]
        self.max_pct = float(t["max_pct"])
        self.hold_s = float(t["hold_s"])
        self.grace_n = max(1, self._n(float(t["tense_grace_s"])))
        self.min_relaxed_fraction = float(self.config.params["scoring"]["min_relaxed_fraction"])
        self._reset()
        return [self.config.resolve_channel("target", "channel", self.channel_names, self.n_channels)]

    def _reset(self) -> None:
        self._relaxed = 0
        self._clean_n = 0
        self._above_run = 0
        self._tense = False
        self._tense_t = 0.0
        self._episodes = 0
        self._tense_n = 0
        self._sum = 0.0
        self._peak: float | None = None

    def trial_duration_s(self) -> float:
        return self.hold_s

    def _trial_begin(self, t: float) -> dict[str, Any]:
        self._reset()
        self._set_cue(t, "relax", "STRETCH", target_pct=0.0)
        return {"max_pct": self.max_pct, "hold_s": self.hold_s}

    def _trial_sample(self, t: float, tau: float, v: list[float], gated: bool) -> None:
        if gated:
            return
        x = v[0]
        self._clean_n += 1
        self._sum += x
        self._peak = x if self._peak is None else max(self._peak, x)
        if x < self.max_pct:
            self._relaxed += 1
            self._above_run = 0
            if self._tense:
                self._tense = False
                self._emit(ev.RELAXED, t, duration_s=round(t - self._tense_t, 6))
                self.state.message = ""
                self._set_cue(t, "relax", "STRETCH", target_pct=0.0)
        else:
            self._above_run += 1
            if self._tense:
                self._tense_n += 1
            elif self._above_run >= self.grace_n:
                self._tense = True
                self._tense_t = t - (self._above_run - 1) * self.dt_s
                self._tense_n += self._above_run
                self._episodes += 1
                self._emit(ev.TENSE, t + self.dt_s, level_pct=round(x, 6))  # the grace ends with this sample
                self.state.message = TENSE_MESSAGE
                self._set_cue(t + self.dt_s, "relax", "LET GO", target_pct=0.0)

    def _end_trial(self, t: float) -> None:
        if self._tense:
            self._tense = False
            self._emit(ev.RELAXED, t, duration_s=round(t - self._tense_t, 6))
        self.state.message = ""
        super()._end_trial(t)

    def _trial_score(self) -> tuple[bool, dict[str, Any]]:
        frac = self._relaxed / self._clean_n if self._clean_n else 0.0
        return frac >= self.min_relaxed_fraction, {
            "relaxed_fraction": round(frac, 6),
            "tense_episodes": self._episodes,
            "tense_s": round(self._tense_n * self.dt_s, 6),
            "mean_pct": round(self._sum / self._clean_n, 6) if self._clean_n else None,
            "peak_pct": round(self._peak, 6) if self._peak is not None else None,
            "max_pct": self.max_pct,
        }

    def _failure_reason(self, metrics: dict[str, Any]) -> str:
        frac = metrics["relaxed_fraction"]
        return f"too tense: relaxed {100 * frac:.0f} % of the time (need {100 * self.min_relaxed_fraction:.0f} %)"

    def _shift_band(self, t: float, delta_pct: float) -> None:
        old = self.max_pct
        new = moved_ceiling(old, delta_pct)
        if new != old:
            self.max_pct = new
            self._emit(ev.THRESHOLD_CHANGE, t, name="ceiling_pct", old_pct=old, new_pct=new, reason="therapist")
            self.state.thresholds_pct = {self.channels[0]: [self.max_pct]}

    def _trial_refresh(self, t: float, tau: float) -> None:
        self.state.thresholds_pct = {self.channels[0]: [self.max_pct]}
        self.state.score = {"relaxed_fraction": round(self._relaxed / self._clean_n, 3) if self._clean_n else None}

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        out["goal"] = {
            "max_pct": self.max_pct,
            "hold_s": self.hold_s,
            "min_relaxed_fraction": self.min_relaxed_fraction,
        }
        out["tense_episodes"] = sum(r.get("tense_episodes", 0) for r in self.results)
        return out
