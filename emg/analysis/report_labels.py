"""Words and numbers as a therapist reads them: channel labels, dates in plain words, rounded figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def muscle_words(muscle: str | None) -> str:
    """``vastus_medialis`` -> ``vastus medialis``."""
    return str(muscle or "").replace("_", " ").strip()


def channel_label(name: str | None, muscle: str | None) -> str:
    """``vastus medialis (ch1)``; just the name when there is no muscle or both say the same."""
    m = muscle_words(muscle)
    nm = str(name or "")
    if not m or m == muscle_words(nm):
        return muscle_words(nm) or "?"
    return f"{m} ({nm})"


def plain_date(iso: str | None) -> str:
    """``2026-12-02T16:26:25+00:00`` -> ``2 December 2026, 16:26 (UTC)``; ``unknown`` when absent."""
    if not iso:
        return "unknown"
    try:
        t = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    tz = t.tzname() or ""
    return f"{t.day} {t:%B %Y, %H:%M}" + (f" ({tz})" if tz else "")


def num(v: Any, nd: int = 1, unit: str = "") -> str:
    """A figure with ``nd`` decimals and its unit; ``-`` when not measured."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        s = f"{float(v):.{nd}f}"
        return f"{s} {unit}".strip() if unit else s
    return str(v)
