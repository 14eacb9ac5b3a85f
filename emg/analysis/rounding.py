"""Rounding of the analysis JSON's numbers (no NaN/inf ever reaches the JSON)."""

from __future__ import annotations

import math
from typing import Any


def rounded(x: Any, nd: int = 4) -> Any:
    """Round for JSON: times to ``nd`` decimals, but never below 6 significant digits (tiny units)."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x != 0.0 and abs(x) < 10.0 ** (2 - nd):
        return float(f"{x:.6g}")
    return round(x, nd)
