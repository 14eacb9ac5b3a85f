"""Isolation: the target muscle in its band while a second (compensating) channel stays below its ceiling.

Both conditions must hold together for ``hold_s``. Per rep it also reports the quiet channel's
mean and peak level and how long it was over its ceiling (``quiet_over_s``) while the patient worked.
"""

from __future__ import annotations

from typing import Any

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
        super()._begin_rep(t)

    def _extra_sample(self, v: list[float]) -> None:
        self._quiet.append(v[1])

    def _extra_metrics(self) -> dict[str, Any]:
        q = self._quiet
        return {
            "quiet_mean_pct": round(sum(q) / len(q), 6) if q else None,
            "quiet_peak_pct": round(max(q), 6) if q else None,
            "quiet_over_s": round(sum(1 for x in q if x >= self.quiet_max_pct) * self.dt_s, 6),
        }

    def _work_message(self, v: list[float]) -> str:
        if v[1] >= self.quiet_max_pct:
            return f"Keep {self.gate.name(self.channels[1])} quiet"
        return ""

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
        self.state.thresholds_pct = {target: [self.rest_threshold_pct], quiet: [self.quiet_max_pct]}
