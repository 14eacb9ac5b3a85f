"""Human names for channels and muscles: what a patient reads instead of the raw channel name.

``display_name("vastus_medialis")`` -> ``"vastus medialis"``; a trailing side letter is kept and
capitalised: ``"vastus_medialis_l"`` -> ``"vastus medialis L"``. Names without separators
(``"VMO"``, ``"ch1"``) come back unchanged. Recordings and events keep the raw names.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[_\-\s.]+")
_SIDE_LETTERS = ("l", "r")


def display_name(raw: str) -> str:
    """The channel or muscle name as a patient reads it (underscores and hyphens become spaces)."""
    words = [w for w in _SEPARATORS.split(str(raw).strip()) if w]
    if not words:
        return str(raw)
    if len(words) > 1 and words[-1].lower() in _SIDE_LETTERS:
        words[-1] = words[-1].upper()
    return " ".join(words)
