"""Layout rules of the patient display, in plain Python (no Qt): sizes from the window height, bar slots,
channel names that fit under their bars, non-overlapping text placement and the end-of-drill headline.

Everything is in pixels or in the bar chart's channel units; :mod:`feedback.view` applies it with Qt.
The display is read from 2-3 m away, so every size is a fraction of the window height (``unit_px`` is 1 %
of it), never a fixed pixel size: the same screen reads the same at 1024x600 and at 3840x2160.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from feedback.names import display_name

#: Font sizes in units of 1 % of the window height (``unit_px``).
FONT_UNITS = {
    "title": 4.2,
    "counter": 5.0,
    "cue": 11.0,
    "message": 4.2,
    "status": 4.0,
    "summary": 4.6,
    "tick": 3.0,
    "axis_title": 3.0,
    "level_focus": 4.6,
    "level_other": 3.0,
    "line_label": 3.0,
    "gauge": 3.6,
    "strip": 2.1,
}
#: Heights of the fixed rows, in units of 1 % of the window height.
ROW_UNITS = {"header": 6.5, "cue": 15.0, "message": 6.0, "gauge": 9.0, "status": 6.0, "strip": 3.6}
MIN_FONT_PX = 9  # never smaller, even in a small window
FOCUS_SLOT = 2.6  # a trained muscle's slot on the bar chart, in units of another muscle's slot
OTHER_SLOT = 1.0
BAR_FILL = 0.62  # the bar's share of its slot
BAND_FILL = 0.9  # the band's share of its slot


def unit_px(window_height_px: int) -> float:
    """1 % of the window height in pixels (at least 5.5, so a tiny window stays legible)."""
    return max(5.5, window_height_px / 100.0)


def font_px(role: str, window_height_px: int) -> int:
    """Pixel size of the font for ``role`` (a :data:`FONT_UNITS` key) in a window ``window_height_px`` high."""
    return max(MIN_FONT_PX, int(round(FONT_UNITS[role] * unit_px(window_height_px))))


def row_px(row: str, window_height_px: int) -> int:
    """Pixel height of a fixed row (a :data:`ROW_UNITS` key)."""
    return int(round(ROW_UNITS[row] * unit_px(window_height_px)))


def stroke_px(window_height_px: int, weight: float = 1.0) -> float:
    """Line width in pixels: 0.45 % of the window height times ``weight``, at least 2."""
    return max(2.0, 0.45 * unit_px(window_height_px) * weight)


def short_name(raw: str) -> str:
    """Initials of a multi-word channel name (``"vastus_medialis"`` -> ``"VM"``), else its display name."""
    words = display_name(raw).split()
    return "".join(w[0].upper() for w in words) if len(words) > 1 else display_name(raw)


def name_candidates(shown: str) -> list[str]:
    """Ways to write a channel's display name under its bar, longest first: the name on one line, on two
    lines (split at the space nearest the middle), its initials, its first letters."""
    out = [shown]
    words = shown.split()
    if len(words) > 1:
        best = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
        out.append(" ".join(words[:best]) + "\n" + " ".join(words[best:]))
        out.append("".join(w[0].upper() for w in words))
    elif len(shown) > 5:
        out.append(shown[:4] + ".")
    return out


@dataclass(frozen=True)
class Slots:
    """Where each channel sits on the bar chart: ``centres`` and ``widths`` in chart units, ``span`` the total."""

    centres: tuple[float, ...]
    widths: tuple[float, ...]
    span: float

    def x(self, channel: float) -> float:
        """Chart x of ``channel``: an integer is the slot's centre, a fraction moves across the slot."""
        i = min(max(int(round(channel)), 0), len(self.centres) - 1)
        return self.centres[i] + (channel - i) * self.widths[i]


def channel_slots(n_channels: int, focus: Iterable[int]) -> Slots:
    """Slots for ``n_channels`` bars; the trained channels (``focus``) get :data:`FOCUS_SLOT` times the room."""
    focus_set = set(focus)
    widths = [FOCUS_SLOT if ch in focus_set else OTHER_SLOT for ch in range(n_channels)]
    if not focus_set:
        widths = [1.0] * n_channels
    centres, x = [], 0.0
    for w in widths:
        centres.append(x + w / 2)
        x += w
    return Slots(tuple(centres), tuple(widths), x)


Box = tuple[float, float, float, float]  # x, y (top), width, height in pixels


def overlaps(a: Box, b: Box, gap: float = 0.0) -> bool:
    """True when two boxes (x, y, w, h) overlap, or come closer than ``gap`` pixels."""
    return not (
        a[0] + a[2] + gap <= b[0] or b[0] + b[2] + gap <= a[0] or a[1] + a[3] + gap <= b[1] or b[1] + b[3] + gap <= a[1]
    )


def clamp_box(box: Box, bounds: Box) -> Box:
    """``box`` moved (not resized) to lie inside ``bounds`` where it can."""
    x, y, w, h = box
    bx, by, bw, bh = bounds
    x = min(max(x, bx), bx + bw - w)
    y = min(max(y, by), by + bh - h)
    return x, y, w, h


def place_labels(boxes: Sequence[Box], bounds: Box, gap: float = 4.0) -> list[Box]:
    """Move line labels so none overlaps another: each goes right of the ones it would hit, else above them.

    ``boxes`` are the wished positions (in order of priority); every result lies inside ``bounds`` where it fits.
    """
    placed: list[Box] = []
    for box in boxes:
        cand = clamp_box(box, bounds)
        for _ in range(2 * len(placed) + 1):
            hit = next((p for p in placed if overlaps(cand, p, gap)), None)
            if hit is None:
                break
            right = clamp_box((hit[0] + hit[2] + gap, cand[1], cand[2], cand[3]), bounds)
            if not overlaps(right, hit, gap):
                cand = right
                continue
            cand = clamp_box((cand[0], hit[1] - cand[3] - gap, cand[2], cand[3]), bounds)
        placed.append(cand)
    return placed


def summary_headline(attempted: int | None, succeeded: int | None, planned: int | None, stopped_early: bool) -> str:
    """The end screen's first line: ``"Stopped after 2 of 3 reps: 2 succeeded"`` or ``"Reps: 2 of 3 succeeded"``."""
    if attempted is None:
        return ""
    suc = "?" if succeeded is None else str(succeeded)
    if stopped_early and planned:
        return f"Stopped after {attempted} of {planned} reps: {suc} succeeded"
    if stopped_early:
        return f"Stopped after {attempted} reps: {suc} succeeded"
    return f"Reps: {suc} of {attempted} succeeded"
