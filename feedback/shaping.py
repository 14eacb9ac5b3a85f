"""Shaping: a threshold moves by rule as the patient succeeds or fails, within bounds, logged.

The rule: after ``raise_after`` successes in a row the task gets harder by ``step_pct``; after
``lower_after`` failures in a row it gets easier by ``step_pct``; never beyond
``[min_pct, max_pct]``. "Harder" is a higher band for up-training and a lower ceiling for
down-training. Void reps (artefacts) neither count nor reset the runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Shaper:
    """Moves one value (a band's low edge, or a ceiling) by the shaping rule.

    ``width_pct`` > 0 means the value is a band's low edge and the band keeps that width
    (its high edge must stay <= ``max_pct``). ``harder_is_higher`` is False for ceilings.
    """

    name: str
    value_pct: float
    step_pct: float = 5.0
    raise_after: int = 3
    lower_after: int = 2
    min_pct: float = 5.0
    max_pct: float = 100.0
    width_pct: float = 0.0
    harder_is_higher: bool = True
    enabled: bool = True
    successes_in_row: int = 0
    failures_in_row: int = 0
    history: list[dict] = field(default_factory=list)

    def _clamp(self, v: float) -> float:
        hi = self.max_pct - self.width_pct
        return min(max(v, self.min_pct), max(hi, self.min_pct))

    def record(self, result: str) -> dict | None:
        """Record ``"success"``, ``"failure"`` or ``"void"``; return the change (``{name, old_pct,
        new_pct, reason}``) when the value moved, else None."""
        if not self.enabled or result not in ("success", "failure"):
            return None
        if result == "success":
            self.successes_in_row += 1
            self.failures_in_row = 0
            if self.successes_in_row < self.raise_after:
                return None
            self.successes_in_row = 0
            direction = 1.0 if self.harder_is_higher else -1.0
            reason = f"{self.raise_after} successes in a row"
        else:
            self.failures_in_row += 1
            self.successes_in_row = 0
            if self.failures_in_row < self.lower_after:
                return None
            self.failures_in_row = 0
            direction = -1.0 if self.harder_is_higher else 1.0
            reason = f"{self.lower_after} failures in a row"
        old = self.value_pct
        new = self._clamp(old + direction * self.step_pct)
        if abs(new - old) < 1e-9:
            return None
        self.value_pct = new
        change = {"name": self.name, "old_pct": round(old, 6), "new_pct": round(new, 6), "reason": reason}
        self.history.append(change)
        return change
