"""Symmetry: left and right in the band together, within ``tolerance_pct`` of each other, for ``hold_s``.

Per rep it also reports the mean absolute left-right difference (``asymmetry_mean_pct``) and the
symmetry index of :func:`dsp.features.symmetry_index`, ``100 * (L - R) / (0.5 * (L + R))`` (positive: left
larger), over the work period's clean samples.
"""

from __future__ import annotations

from typing import Any

from dsp.features import symmetry_index
from feedback.reach_hold import ReachHoldDrill


class SymmetryDrill(ReachHoldDrill):
    """Both sides in ``band_pct`` and ``|left - right| <= tolerance_pct`` for ``hold_s``."""

    kind = "symmetry"

    def _resolve_channels(self) -> list[int]:
        left = self.config.resolve_channel("target", "left_channel", self.channel_names, self.n_channels)
        right = self.config.resolve_channel("target", "right_channel", self.channel_names, self.n_channels)
        if left == right:
            raise self.config.error(
                "target",
                "right_channel",
                f"is the same channel as left_channel ({left + 1})",
                "give the other side's channel",
            )
        self.tolerance_pct = float(self.config.params["target"]["tolerance_pct"])
        self._lr: list[tuple[float, float]] = []
        return [left, right]

    def _in_goal(self, v: list[float]) -> bool:
        lo, hi = self.band_pct
        return lo <= v[0] <= hi and lo <= v[1] <= hi and abs(v[0] - v[1]) <= self.tolerance_pct

    def _onset(self, v: list[float]) -> bool:
        return min(v) >= self.rest_threshold_pct

    def _primary(self, v: list[float]) -> float:
        return 0.5 * (v[0] + v[1])

    def _goal(self) -> dict[str, Any]:
        return {"band_pct": [self.band_pct[0], self.band_pct[1]], "tolerance_pct": self.tolerance_pct}

    def _begin_rep(self, t: float) -> None:
        self._lr = []
        super()._begin_rep(t)

    def _extra_sample(self, v: list[float]) -> None:
        self._lr.append((v[0], v[1]))

    def _extra_metrics(self) -> dict[str, Any]:
        if not self._lr:
            return {"asymmetry_mean_pct": None, "symmetry_index_pct": None}
        diff = sum(abs(left - right) for left, right in self._lr) / len(self._lr)
        mean_left = sum(left for left, _ in self._lr) / len(self._lr)
        mean_right = sum(right for _, right in self._lr) / len(self._lr)
        si = float(symmetry_index(mean_left, mean_right)) if (mean_left + mean_right) > 0 else None
        return {"asymmetry_mean_pct": round(diff, 6), "symmetry_index_pct": None if si is None else round(si, 6)}

    def _work_message(self, v: list[float]) -> str:
        if abs(v[0] - v[1]) > self.tolerance_pct and min(v) >= self.rest_threshold_pct:
            weaker = self.gate.display(self.channels[0] if v[0] < v[1] else self.channels[1])
            return f"Even out: more on {weaker}"
        return ""

    def _miss_reason(self, values: list[float]) -> str:
        lo, hi = self.band_pct
        both_in = [(a, b) for a, b in self._lr if lo <= a <= hi and lo <= b <= hi]
        if both_in:
            gap = min(abs(a - b) for a, b in both_in)
            return f"sides uneven: {gap:.0f} % apart (at most {self.tolerance_pct:g})"
        for side, ch in enumerate(self.channels):
            peak = max(p[side] for p in self._lr)
            if peak < lo:
                return f"{self.gate.display(ch)} not high enough: peak {peak:.0f} of {lo:.0f} %"
        return f"not both in the band: keep them between {lo:.0f} and {hi:.0f} %"

    def _work_cue(self, t: float, holding: bool) -> None:
        c = self.target_pct
        self._set_cue(
            t,
            "hold" if holding else "contract",
            "HOLD" if holding else "CONTRACT",
            target_pct=c,
            band_pct=self.band_pct,
            targets=((self.channels[0], c), (self.channels[1], c)),
        )

    def _goal_state(self) -> None:
        left, right = self.channels
        self.state.bands_pct = {left: self.band_pct, right: self.band_pct}
        self.state.thresholds_pct = {left: [self.rest_threshold_pct], right: [self.rest_threshold_pct]}
