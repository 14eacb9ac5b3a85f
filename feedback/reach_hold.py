"""Reach-and-hold (up-training): bring the muscle into a target band (% of reference) and hold it.

A rep succeeds when the level stays in ``band_pct`` for ``hold_s``; between reps the muscle must
relax below ``rest_threshold_pct``. Shaping moves the band (keeping its width). See
:mod:`feedback.hold_reps` for the rep engine and the per-rep metrics.
"""

from __future__ import annotations

from typing import Any

from feedback.drill_base import moved_band
from feedback.hold_reps import HoldRepDrill
from feedback.shaping import Shaper


def shaper_for_band(name: str, band: tuple[float, float], shaping: dict[str, Any] | None) -> Shaper:
    """A shaper that moves a band's low edge, keeping its width, within the shaping bounds."""
    sh = shaping or {
        "enabled": False,
        "step_pct": 5.0,
        "raise_after": 3,
        "lower_after": 2,
        "min_pct": 0.0,
        "max_pct": 1000.0,
    }
    return Shaper(
        name=name,
        value_pct=band[0],
        step_pct=sh["step_pct"],
        raise_after=sh["raise_after"],
        lower_after=sh["lower_after"],
        min_pct=sh["min_pct"],
        max_pct=sh["max_pct"],
        width_pct=band[1] - band[0],
        harder_is_higher=True,
        enabled=sh["enabled"],
    )


class ReachHoldDrill(HoldRepDrill):
    """Target channel in ``band_pct`` for ``hold_s``; relax below ``rest_threshold_pct`` between reps."""

    kind = "reach_hold"

    def _resolve_channels(self) -> list[int]:
        return [self.config.resolve_channel("target", "channel", self.channel_names, self.n_channels)]

    def _make_shaper(self, shaping: dict[str, Any] | None) -> Shaper:
        self.band_pct = tuple(self.config.params["target"]["band_pct"])
        return shaper_for_band("band_pct", self.band_pct, shaping)

    def _apply_shaping(self, new_value_pct: float) -> None:
        width = self.band_pct[1] - self.band_pct[0]
        self.band_pct = (new_value_pct, new_value_pct + width)

    def _shift_band(self, t: float, delta_pct: float) -> None:
        old = self.band_pct
        new = moved_band(old, delta_pct)
        if new == old:
            return
        self.band_pct = new
        self.shaper.value_pct = new[0]  # shaping goes on from the therapist's band
        self._therapist_change(t, "band_pct", [old[0], old[1]], [new[0], new[1]])

    def _miss_reason(self, values: list[float]) -> str:
        peak = max(values)
        lo, hi = self.band_pct
        if peak < lo:
            if peak < self.rest_threshold_pct:
                return "no contraction seen"
            return f"not high enough: peak {peak:.0f} of {lo:.0f} %"
        if peak > hi:
            return f"too high: stay under {hi:.0f} %"
        return "did not reach the band"

    def _in_goal(self, v: list[float]) -> bool:
        return self.band_pct[0] <= v[0] <= self.band_pct[1]

    def _goal(self) -> dict[str, Any]:
        return {"band_pct": [self.band_pct[0], self.band_pct[1]]}

    @property
    def target_pct(self) -> float:
        return 0.5 * (self.band_pct[0] + self.band_pct[1])

    def _work_cue(self, t: float, holding: bool) -> None:
        self._set_cue(
            t,
            "hold" if holding else "contract",
            "HOLD" if holding else "CONTRACT",
            target_pct=self.target_pct,
            band_pct=self.band_pct,
        )

    def _goal_state(self) -> None:
        ch = self.channels[0]
        self.state.bands_pct = {ch: self.band_pct}
        self.state.thresholds_pct = {ch: [self.rest_threshold_pct]}
