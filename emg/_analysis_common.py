"""Rounding and JSON conversion shared by the analysis modules (no NaN/inf ever reaches the JSON)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np


def _r(x: Any, nd: int = 4) -> Any:
    """Round for JSON: times to ``nd`` decimals, but never below 6 significant digits (tiny units)."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x != 0.0 and abs(x) < 10.0 ** (2 - nd):
        return float(f"{x:.6g}")
    return round(x, nd)


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(float(v)) else None
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, Path):
        return str(v)
    return str(v)
