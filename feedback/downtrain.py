"""Down-training: keep an overactive muscle below ``max_pct`` for ``hold_s`` (within ``work_s``).

No relaxation phase is needed between reps (being relaxed is the goal); rests are timed.
Shaping lowers the ceiling after successes and raises it after failures; the therapist's Up/Down
(:meth:`shift_band`) moves it too (``threshold_change`` named ``ceiling_pct``). The ceiling is published in
``state.ceilings_pct``.
``reaction_time_s`` and ``time_to_band_s`` are both the time to first get below the ceiling.
"""

from __future__ import annotations

from typing import Any

from feedback.drill_base import moved_ceiling
from feedback.hold_reps import HoldRepDrill
from feedback.shaping import Shaper


class DowntrainDrill(HoldRepDrill):
    """Target channel below ``max_pct`` for ``hold_s``."""

    kind = "downtrain"
    relax_required = False

    def _resolve_channels(self) -> list[int]:
        return [self.config.resolve_channel("target", "channel", self.channel_names, self.n_channels)]

    def _make_shaper(self, shaping: dict[str, Any] | None) -> Shaper:
        self.max_pct = float(self.config.params["target"]["max_pct"])
        sh = shaping or {}
        return Shaper(
            name="max_pct",
            value_pct=self.max_pct,
            step_pct=sh.get("step_pct", 5.0),
            raise_after=sh.get("raise_after", 3),
            lower_after=sh.get("lower_after", 2),
            min_pct=sh.get("min_pct", 0.0),
            max_pct=sh.get("max_pct", 1000.0),
            harder_is_higher=False,
            enabled=sh.get("enabled", False),
        )

    def _apply_shaping(self, new_value_pct: float) -> None:
        self.max_pct = new_value_pct

    def _shift_band(self, t: float, delta_pct: float) -> None:
        old = self.max_pct
        new = moved_ceiling(old, delta_pct)
        if new != old:
            self.max_pct = new
            self.shaper.value_pct = new
            self._therapist_change(t, "ceiling_pct", old, new)

    def _failure_reason(self) -> str:
        w = self._work
        if w["first_band"] is None:
            return f"stayed above the {self.max_pct:g} % ceiling" if w["values"] else "no clean signal in that rep"
        return f"kept low {w['best_hold'] * self.dt_s:.1f} of {self.hold_s:.1f} s"

    def _in_goal(self, v: list[float]) -> bool:
        return v[0] < self.max_pct

    def _onset(self, v: list[float]) -> bool:
        return v[0] < self.max_pct

    def _goal(self) -> dict[str, Any]:
        return {"max_pct": self.max_pct}

    def _work_cue(self, t: float, holding: bool) -> None:
        self._set_cue(t, "relax", "KEEP LOW" if holding else "RELAX", target_pct=0.0)

    def _goal_state(self) -> None:
        self.state.bands_pct = {}
        self.state.thresholds_pct = {}
        self.state.ceilings_pct = {self.channels[0]: self.max_pct}
