"""Isolation: the target muscle in its band while a second (compensating) channel stays below its ceiling.

Both conditions must hold together for ``hold_s``. Per rep it also reports the quiet channel's
mean and peak level and how long it was over its ceiling (``quiet_over_s``) while the patient worked.
The quiet channel's ceiling is published in ``state.ceilings_pct`` (the target's rest line stays in
``thresholds_pct``); during the work the patient reads "Keep <quiet muscle> relaxed". The therapist's
Up/Down (:meth:`shift_band`) moves the target band and the quiet ceiling together (antagonist
co-activation grows with the agonist's effort), recorded as two ``threshold_change`` events.
"""

from __future__ import annotations

from typing import Any

from feedback.drill_base import moved_ceiling
from feedback.reach_hold import ReachHoldDrill


class IsolationDrill(ReachHoldDrill):
    """Target in ``[target] band_pct`` and ``[quiet] channel`` below ``[quiet] max_pct`` for ``hold_s``."""

    kind = "isolation"

    def _resolve_channels(self) -> list[int]:
        target = self.config.resolve_channel("target", "channel", self.channel_names, self.n_channels)
        quiet = self.config.resolve_channel("quiet", "channel", self.channel_names, self.n_channels)
        if quiet == target:
            raise self.config.error(
                "quiet",
                "channel",
                f"is the target channel ({target + 1}) itself",
                "name the compensating muscle's channel",
            )
        self.quiet_max_pct = float(self.config.params["quiet"]["max_pct"])
        self._quiet: list[float] = []
        self._blocked_by_quiet = 0  # clean samples with the target in its band but the quiet channel too high
        return [target, quiet]

    def _in_goal(self, v: list[float]) -> bool:
        return self.band_pct[0] <= v[0] <= self.band_pct[1] and v[1] < self.quiet_max_pct

    def _onset(self, v: list[float]) -> bool:
        return v[0] >= self.rest_threshold_pct

    def _relaxed(self, v: list[float]) -> bool:
        return v[0] < self.rest_threshold_pct

    def _goal(self) -> dict[str, Any]:
        return {"band_pct": [self.band_pct[0], self.band_pct[1]], "quiet_max_pct": self.quiet_max_pct}

    def _begin_rep(self, t: float) -> None:
        self._quiet = []
        self._blocked_by_quiet = 0
        super()._begin_rep(t)

    def _extra_sample(self, v: list[float]) -> None:
        self._quiet.append(v[1])
        if self.band_pct[0] <= v[0] <= self.band_pct[1] and v[1] >= self.quiet_max_pct:
            self._blocked_by_quiet += 1

    def _quiet_name(self) -> str:
        return self.gate.display(self.channels[1])

    def _failure_reason(self) -> str:
        if self._blocked_by_quiet and self._work["first_band"] is None:
            return f"{self._quiet_name()} too active"
        reason = super()._failure_reason()
        if self._blocked_by_quiet:
            return f"{reason}: {self._quiet_name()} too active"
        return reason

    def _shift_band(self, t: float, delta_pct: float) -> None:
        super()._shift_band(t, delta_pct)
        old = self.quiet_max_pct
        new = moved_ceiling(old, delta_pct)
        if new != old:
            self.quiet_max_pct = new
            self._therapist_change(t, "ceiling_pct", old, new)

    def _extra_metrics(self) -> dict[str, Any]:
        q = self._quiet
        return {
            "quiet_mean_pct": round(sum(q) / len(q), 6) if q else None,
            "quiet_peak_pct": round(max(q), 6) if q else None,
            "quiet_over_s": round(sum(1 for x in q if x >= self.quiet_max_pct) * self.dt_s, 6),
        }

    def _work_message(self, v: list[float]) -> str:
        if v[1] >= self.quiet_max_pct:
            return f"{self._quiet_name()} too active: let it relax"
        return f"Keep {self._quiet_name()} relaxed"

    def _work_cue(self, t: float, holding: bool) -> None:
        # the quiet channel has a ceiling, not a target level: it is not listed in ``targets`` (a patient
        # cannot simply be told to stop an involuntary co-contraction; the drill measures whether it stops)
        self._set_cue(
            t,
            "hold" if holding else "contract",
            "HOLD" if holding else "CONTRACT",
            target_pct=self.target_pct,
            band_pct=self.band_pct,
        )

    def _goal_state(self) -> None:
        target, quiet = self.channels
        self.state.bands_pct = {target: self.band_pct}
        self.state.thresholds_pct = {target: [self.rest_threshold_pct]}
        self.state.ceilings_pct = {quiet: self.quiet_max_pct}
