"""The live biofeedback view: pyqtgraph on PySide6, designed to be read by a patient 2-3 m away.

Patient area, top to bottom: the drill's name and the rep counters; the cue (CONTRACT / HOLD 3 / RELAX,
``✓ GOOD`` on a success, ``TRY AGAIN`` on a missed rep with the reason under it) in very large type; the
message line (instructions, why samples are not counting); for balance, the sway gauge (sway area so far
against its limit, with numbers, and the current tilt); the bar chart and the scrolling trace; the
status line (paused, board lost). Under it the **therapist strip**: a thin, muted line with the key hints,
each channel's signal quality and the sample-to-screen latency (``T`` hides it).

Bar chart: one bar per channel in % of reference (the axis title is the frame's ``scale_label``). The
trained muscle (the frame's channel and every channel the drill sets a band, ceiling or marker on) has
a wide slot, its level in large type and what the colour means written above it (IN BAND / HIGHER /
TOO HIGH / STAY BELOW / OVER); the other muscles have narrow bars with their own, smaller % labels.
Channel names are written for people (``vastus_medialis`` -> ``vastus medialis``).

What each drill scores is drawn in its own colour and named in words beside it: the target band
(orange, "aim here"), the rest / relax threshold (yellow dashed, "relax below"), a ceiling not to
exceed (blue line with the zone above tinted, "stay below"), the tracking path (reddish purple) over
the history and into a shaded look-ahead to the right of "now", a moving target marker. During the
calibration rest (``stage == "calibration_rest"``) the bars are grey and the cue reads RESTING; during
the reference contraction the bar climbs toward the goal the calibration draws. Awareness trials with
``hidden`` hide the level.

Everything scales with the window: font sizes and line widths come from the window height
(:mod:`feedback.view_layout`) and long texts shrink or elide rather than widen the window. Colours are
the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies) and every colour's
meaning is also written.

It only draws what it is given: activation samples via :meth:`FeedbackView.push` and the drill's state
via :meth:`FeedbackView.set_frame`. :meth:`FeedbackView.paint_now` paints the plots synchronously and
returns the wall-clock time the frame was painted (the sample-to-screen latency ends there).

Keys: space pauses, M marks, Esc stops, R resumes after a lost board (or calibrates again after a
refusal), Up / ``+`` and Down / ``-`` ask to move the target by 5 % of reference
(:attr:`FeedbackView.band_shift_requested`), F11 toggles full screen, T shows or hides the therapist
strip, digits then Enter give an estimate in % (awareness trials).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from feedback.names import display_name
from feedback.view_frame import ViewFrame, frame_from_state
from feedback.view_layout import (
    BAND_FILL,
    BAR_FILL,
    Box,
    Slots,
    channel_slots,
    clamp_box,
    font_px,
    name_candidates,
    place_labels,
    row_px,
    short_name,
    stroke_px,
    summary_headline,
    unit_px,
)
from feedback.view_qtfix import guard_bool_refcounts

log = logging.getLogger(__name__)
guard_bool_refcounts()

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#999999",
}

#: What each element is drawn in (pixel tests rely on these).
COLOURS = {
    "background": "#101010",
    "level_below": OKABE_ITO["sky_blue"],
    "level_in_band": OKABE_ITO["bluish_green"],
    "level_above": OKABE_ITO["vermillion"],
    "level_rest": OKABE_ITO["grey"],  # calibration rest: no effort colours
    "band": OKABE_ITO["orange"],
    "threshold": OKABE_ITO["yellow"],
    "ceiling": OKABE_ITO["blue"],
    "target_marker": OKABE_ITO["reddish_purple"],
    "target_path": OKABE_ITO["reddish_purple"],
    "success": OKABE_ITO["bluish_green"],
    "warning": OKABE_ITO["vermillion"],
    "missed": OKABE_ITO["orange"],
    "gauge_ok": OKABE_ITO["bluish_green"],
    "gauge_over": OKABE_ITO["vermillion"],
    "gauge_track": "#2A2A2A",
    "trace_focus": "#FFFFFF",
    "trace_other": OKABE_ITO["grey"],
    "now": "#BBBBBB",
    "text": "#FFFFFF",
    "muted_text": "#A0A0A0",
    "strip_background": "#1C1C1C",
}
BAND_ALPHA = 120
CEILING_ZONE_ALPHA = 70
LOOKAHEAD_ALPHA = 45
SUCCESS_FLASH_S = 0.8
BAND_SHIFT_PCT = 5.0  # one Up / Down key press, % of reference
MAX_CURVE_POINTS = 500  # per envelope curve; the envelope is smooth (<= ~10 Hz), 8 s x 60 points/s is plenty
CURVE_POINT_BUDGET = 2400  # over all visible curves (thick-line raster drawing dominates the frame cost)
KEY_HINTS = (
    "space pause \u00b7 M mark \u00b7 Up/Down target \u00b7 Esc stop \u00b7 F11 full screen \u00b7 T hide this strip"
)


def over_background(colour: str, alpha: int) -> QtGui.QColor:
    """``colour`` at ``alpha`` (0-255) composited over the background, as an opaque colour (no blending cost)."""
    fg, bg = QtGui.QColor(colour), QtGui.QColor(COLOURS["background"])
    a = alpha / 255.0
    return QtGui.QColor(
        *(
            int(round(f * a + b * (1 - a)))
            for f, b in ((fg.red(), bg.red()), (fg.green(), bg.green()), (fg.blue(), bg.blue()))
        )
    )


def pixel_font(px: int, bold: bool = True) -> QtGui.QFont:
    """A font ``px`` pixels high (pixel, not point, sizes: the screen's DPI setting does not change the layout)."""
    font = QtGui.QFont()
    font.setPixelSize(max(1, int(px)))
    font.setBold(bold)
    return font


# ====================================================================== plot items
class Rects(pg.GraphicsObject):
    """Filled rectangles in data coordinates, painted directly (pyqtgraph's BarGraphItem replays a
    QPicture per paint, which cost ~2.5 ms per item per frame here)."""

    def __init__(self, colour: QtGui.QColor) -> None:
        super().__init__()
        self._brush = QtGui.QBrush(colour)
        self._rects: list[QtCore.QRectF] = []
        self._bounds = QtCore.QRectF()

    def set_colour(self, colour: QtGui.QColor) -> None:
        if colour != self._brush.color():
            self._brush = QtGui.QBrush(colour)
            self.update()

    def set_rects(self, rects: Sequence[tuple[float, float, float, float]]) -> None:
        """One rectangle per ``(left, bottom, width, height)`` in data units (height <= 0 skipped)."""
        qrects = [QtCore.QRectF(float(x), float(y), float(w), float(h)) for x, y, w, h in rects if h > 0 and w > 0]
        bounds = QtCore.QRectF()
        for r in qrects:
            bounds = bounds.united(r)
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self._rects = qrects
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(self._bounds)

    def paint(self, painter: QtGui.QPainter, *args: Any) -> None:
        for r in self._rects:
            painter.fillRect(r, self._brush)


@dataclass
class TextSpec:
    """A text anchored at a data point: ``anchor`` (0-1, 0-1) of its box goes to (x, y) moved by ``offset_px``.

    ``max_w`` (data units) shrinks the font until the text fits that width; ``swatch`` draws a small
    block of that colour before the text (a legend key); ``top_reserve_px`` keeps the box below the
    plot's top by that much (room for a word above).
    """

    x: float
    y: float
    text: str
    px: int
    colour: str = COLOURS["text"]
    anchor: tuple[float, float] = (0.5, 1.0)
    offset_px: tuple[float, float] = (0.0, 0.0)
    max_w: float | None = None
    swatch: str | None = None
    box_background: bool = False
    top_reserve_px: float = 0.0
    halo: bool = False  # a dark outline, so lines under the text do not cut it


_FONT_CACHE: dict[tuple[int, bool], QtGui.QFont] = {}
_METRICS_CACHE: dict[tuple[int, bool], QtGui.QFontMetricsF] = {}


def _cached_font(px: int, bold: bool = True) -> QtGui.QFont:
    key = (px, bold)
    if key not in _FONT_CACHE:
        _FONT_CACHE[key] = pixel_font(px, bold)
        _METRICS_CACHE[key] = QtGui.QFontMetricsF(_FONT_CACHE[key])
    return _FONT_CACHE[key]


def _metrics(px: int) -> QtGui.QFontMetricsF:
    _cached_font(px)
    return _METRICS_CACHE[(px, True)]


_ADVANCE_CACHE: dict[tuple[int, str], float] = {}
_STATIC_CACHE: dict[tuple[int, str], QtGui.QStaticText] = {}
_COLOUR_CACHE: dict[str, QtGui.QColor] = {}


def _advance(px: int, text: str) -> float:
    """Width in pixels of ``text`` in the bold font ``px`` high (cached: bar labels repeat a few hundred texts)."""
    key = (px, text)
    w = _ADVANCE_CACHE.get(key)
    if w is None:
        if len(_ADVANCE_CACHE) > 8192:
            _ADVANCE_CACHE.clear()
        w = _ADVANCE_CACHE[key] = _metrics(px).horizontalAdvance(text)
    return w


def _static_text(px: int, text: str) -> QtGui.QStaticText:
    """A laid-out text to paint many times (``drawStaticText`` skips the per-paint text layout)."""
    key = (px, text)
    st = _STATIC_CACHE.get(key)
    if st is None:
        if len(_STATIC_CACHE) > 4096:
            _STATIC_CACHE.clear()
        st = _STATIC_CACHE[key] = QtGui.QStaticText(text)
        st.setPerformanceHint(QtGui.QStaticText.PerformanceHint.AggressiveCaching)
        st.prepare(QtGui.QTransform(), _cached_font(px))
    return st


def _colour(name: str) -> QtGui.QColor:
    c = _COLOUR_CACHE.get(name)
    if c is None:
        c = _COLOUR_CACHE[name] = QtGui.QColor(name)
    return c


def layout_texts(
    specs: Sequence[TextSpec], to_px: Callable[[float, float], tuple[float, float]], x_scale: float, bounds: Box, avoid
) -> list[tuple[Box, int]]:
    """Pixel box and font size of each text, given the data->pixel map, px per data x unit and the plot bounds.

    With ``avoid`` the boxes are moved so none overlaps another (line labels); else each is only kept
    inside the bounds (bar labels, which sit in their own slots).
    """
    wished: list[Box] = []
    sizes: list[int] = []
    for s in specs:
        px = s.px
        boxed = s.box_background or s.swatch is not None
        while True:
            fh = _metrics(px).height()
            pad = 0.25 * fh if boxed else 0.0
            w = _advance(px, s.text) + 2 * pad + (0.9 * fh if s.swatch else 0.0)
            if s.max_w is None or w <= s.max_w * x_scale or px <= 7:
                break
            px -= 1
        h = fh + pad
        ax, ay = to_px(s.x, s.y)
        box = (ax + s.offset_px[0] - s.anchor[0] * w, ay + s.offset_px[1] - s.anchor[1] * h, w, h)
        b = (bounds[0], bounds[1] + s.top_reserve_px, bounds[2], bounds[3] - s.top_reserve_px)
        wished.append(clamp_box(box, b))
        sizes.append(px)
    boxes = place_labels(wished, bounds) if avoid else wished
    return list(zip(boxes, sizes, strict=True))


class PlotTexts(pg.GraphicsObject):
    """Texts anchored at data points and painted at a fixed pixel size (one item, no per-frame text relayout)."""

    def __init__(self, avoid_overlap: bool) -> None:
        super().__init__()
        self.avoid_overlap = avoid_overlap
        self.specs: list[TextSpec] = []
        self._data_bounds = QtCore.QRectF(0, 0, 1, 1)

    def set_data_bounds(self, rect: QtCore.QRectF) -> None:
        """The plot's visible data rectangle (the texts stay inside it)."""
        if rect != self._data_bounds:
            self.prepareGeometryChange()
            self._data_bounds = QtCore.QRectF(rect)

    def set_texts(self, specs: list[TextSpec]) -> None:
        if specs != self.specs:
            self.specs = specs
            self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(self._data_bounds)

    def layout(self, to_px: Callable[[float, float], tuple[float, float]], x_scale: float, bounds: Box):
        return layout_texts(self.specs, to_px, x_scale, bounds, self.avoid_overlap)

    def paint(self, painter: QtGui.QPainter, *args: Any) -> None:
        if not self.specs:
            return
        tr = painter.transform()
        r = tr.mapRect(self._data_bounds)
        bounds = (r.left(), r.top(), r.width(), r.height())
        m11, m22, dx, dy = tr.m11(), tr.m22(), tr.dx(), tr.dy()  # the view maps data to pixels by scale + shift

        def to_px(x: float, y: float) -> tuple[float, float]:
            return m11 * x + dx, m22 * y + dy

        placed = self.layout(to_px, abs(m11), bounds)
        painter.save()
        painter.resetTransform()
        background = _colour(COLOURS["background"])
        for spec, ((x, y, w, h), px) in zip(self.specs, placed, strict=True):
            fh = _metrics(px).height()
            left = x
            if spec.box_background or spec.swatch:
                painter.fillRect(QtCore.QRectF(x, y, w, h), background)
                left += 0.25 * fh
            if spec.swatch:
                sq = 0.7 * fh
                painter.fillRect(QtCore.QRectF(left, y + (h - sq) / 2, sq, sq), _colour(spec.swatch))
                left += 0.9 * fh
            painter.setFont(_cached_font(px))
            at, text = QtCore.QPointF(left, y + (h - fh) / 2), _static_text(px, spec.text)
            if spec.halo:
                painter.setPen(background)
                d = max(1.0, px / 14)
                for ox, oy in ((-d, 0), (d, 0), (0, -d), (0, d)):
                    painter.drawStaticText(at + QtCore.QPointF(ox, oy), text)
            painter.setPen(_colour(spec.colour))
            painter.drawStaticText(at, text)
        painter.restore()


# ====================================================================== widgets
class FitLabel(QtWidgets.QWidget):
    """A label whose text shrinks (down to 55 % of its size), then elides, to fit: it never widens its window.

    ``text()`` is the whole text, ``shown_text()`` what is painted (equal unless elided); the font
    size is set in pixels from the window height by the view (:meth:`set_px`).
    """

    def __init__(
        self,
        *,
        bold: bool = True,
        align: QtCore.Qt.AlignmentFlag = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
        wrap: bool = False,
        colour: str = COLOURS["text"],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._text = ""
        self._bold = bold
        self._align = align
        self._wrap = wrap
        self._px = 20
        self._fg = QtGui.QColor(colour)
        self._bg: QtGui.QColor | None = None
        self._fit: tuple[QtGui.QFont, str, QtCore.QRectF] | None = None
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)

    # --- QLabel-like API
    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self._fit = None
            self.update()

    def set_px(self, px: int) -> None:
        if px != self._px:
            self._px = px
            self._fit = None
            self.update()

    def set_colours(self, fg: str, bg: str | None = None) -> None:
        fgc, bgc = QtGui.QColor(fg), (QtGui.QColor(bg) if bg else None)
        if fgc != self._fg or bgc != self._bg:
            self._fg, self._bg = fgc, bgc
            self.update()

    def foreground(self) -> str:
        return self._fg.name()

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(10, int(QtGui.QFontMetrics(pixel_font(self._px, self._bold)).height() * 1.1))

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(10, 10)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        self._fit = None
        super().resizeEvent(event)

    # --- fitting
    def _flags(self) -> int:
        return int(self._align | (QtCore.Qt.TextFlag.TextWordWrap if self._wrap else 0))

    def fitted(self) -> tuple[QtGui.QFont, str, QtCore.QRectF]:
        """(font, shown text, text box in this label's coordinates) for the current size."""
        if self._fit is not None:
            return self._fit
        area = QtCore.QRectF(self.rect()).adjusted(2, 0, -2, 0)
        px = self._px
        floor = max(7, int(self._px * 0.55))
        while True:
            font = pixel_font(px, self._bold)
            fm = QtGui.QFontMetricsF(font)
            if self._wrap:
                box = fm.boundingRect(area, self._flags(), self._text)
                ok = box.height() <= area.height() + 0.5 and box.width() <= area.width() + 0.5
            else:
                box = fm.boundingRect(area, self._flags(), self._text)
                ok = fm.horizontalAdvance(self._text) <= area.width() and fm.height() <= area.height() + 0.5
            if ok or px <= floor:
                break
            px = max(floor, int(px * 0.94))
        shown = self._text
        if not ok:
            shown = fm.elidedText(self._text.replace("\n", " "), QtCore.Qt.TextElideMode.ElideRight, area.width())
            flags = int(self._align)
            box = fm.boundingRect(area, flags, shown)
        self._fit = (font, shown, box)
        return self._fit

    def shown_text(self) -> str:
        return self.fitted()[1]

    def text_box(self) -> QtCore.QRectF:
        """Where the text is painted, in this label's coordinates (empty without text)."""
        return self.fitted()[2] if self._text else QtCore.QRectF()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        if self._bg is not None:
            p.fillRect(self.rect(), self._bg)
        if self._text:
            font, shown, _ = self.fitted()
            p.setFont(font)
            p.setPen(self._fg)
            area = QtCore.QRectF(self.rect()).adjusted(2, 0, -2, 0)
            p.drawText(area, self._flags() if shown == self._text else int(self._align), shown)
        p.end()


class SwayGauge(QtWidgets.QWidget):
    """Balance: the sway area so far against its limit (a horizontal gauge with numbers) and the current tilt."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.sway_deg2: float | None = None
        self.limit_deg2: float | None = None
        self.tilt_deg: tuple[float, float] | None = None
        self._px = 20
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)

    def set_values(self, sway: float | None, limit: float | None, tilt: tuple[float, float] | None) -> None:
        tilt_t = (float(tilt[0]), float(tilt[1])) if tilt is not None else None
        values = (sway, limit, tilt_t)
        if values != (self.sway_deg2, self.limit_deg2, self.tilt_deg):
            self.sway_deg2, self.limit_deg2, self.tilt_deg = values
            self.update()

    def set_px(self, px: int) -> None:
        self._px = px
        self.update()

    def scale_max(self) -> float:
        """The gauge's full scale: 1.5 x the limit (or the sway so far, when no limit is set)."""
        if self.limit_deg2:
            return 1.5 * float(self.limit_deg2)
        return max(1.0, 1.25 * float(self.sway_deg2 or 0.0))

    def _texts(self) -> tuple[str, str, str]:
        sway = self.sway_deg2
        left = "SWAY"
        if sway is None:
            value = "\u2013"
        elif self.limit_deg2:
            value = f"{sway:.1f} of {self.limit_deg2:.0f} deg\u00b2"
        else:
            value = f"{sway:.1f} deg\u00b2"
        if self.tilt_deg is None:
            tilt = ""
        else:
            ml, ap = self.tilt_deg
            side, way = ("right" if ml >= 0 else "left"), ("forward" if ap >= 0 else "back")
            tilt = f"tilt {abs(ml):.1f}\u00b0 {side}, {abs(ap):.1f}\u00b0 {way}"
        return left, value, tilt

    def regions(self) -> dict[str, QtCore.QRectF]:
        """Pixel boxes of the parts (``label``, ``value``, ``track``, ``tilt``, ``status``) in this widget."""
        fm = _metrics(self._px)
        h = self.height()
        left, value, tilt = self._texts()
        lw = fm.horizontalAdvance(left) + 0.6 * fm.height()
        vw = fm.horizontalAdvance("888.8 of 888 deg\u00b2") + 0.6 * fm.height()
        tw = fm.horizontalAdvance(tilt) + 0.6 * fm.height() if tilt else 0.0
        text_h = fm.height()
        y = (h - text_h) / 2
        x = 0.0
        out = {"label": QtCore.QRectF(x, y, lw, text_h)}
        x += lw
        out["value"] = QtCore.QRectF(x, y, vw, text_h)
        x += vw
        track_w = max(40.0, self.width() - x - tw - 0.5 * fm.height())
        out["track"] = QtCore.QRectF(x, h * 0.22, track_w, h * 0.56)
        out["tilt"] = QtCore.QRectF(x + track_w + 0.5 * fm.height(), y, tw, text_h)
        return out

    def track_point(self, sway_deg2: float) -> QtCore.QPoint:
        """Where ``sway_deg2`` lands on the gauge (centre row of the track), in this widget's pixels."""
        t = self.regions()["track"]
        x = t.left() + t.width() * min(max(sway_deg2 / self.scale_max(), 0.0), 1.0)
        return QtCore.QPoint(int(round(x)), int(round(t.center().y())))

    def text_boxes(self) -> list[tuple[str, QtCore.QRectF, str]]:
        """(name, box, text) of each written part, in this widget's coordinates (for layout tests)."""
        left, value, tilt = self._texts()
        reg = self.regions()
        fm = _metrics(self._px)
        out = []
        for name, text in (("label", left), ("value", value), ("tilt", tilt)):
            if text:
                r = reg[name]
                out.append((name, QtCore.QRectF(r.left(), r.top(), fm.horizontalAdvance(text), r.height()), text))
        return out

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor(COLOURS["background"]))
        reg = self.regions()
        left, value, tilt = self._texts()
        p.setFont(_cached_font(self._px))
        p.setPen(QtGui.QColor(COLOURS["text"]))
        align = int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
        p.drawText(reg["label"], align, left)
        p.drawText(reg["value"], align, value)
        if tilt:
            p.drawText(reg["tilt"], align, tilt)
        track = reg["track"]
        p.fillRect(track, QtGui.QColor(COLOURS["gauge_track"]))
        if self.sway_deg2 is not None:
            over = bool(self.limit_deg2) and self.sway_deg2 > float(self.limit_deg2 or 0.0)
            frac = min(max(self.sway_deg2 / self.scale_max(), 0.0), 1.0)
            fill = QtCore.QRectF(track.left(), track.top(), track.width() * frac, track.height())
            p.fillRect(fill, QtGui.QColor(COLOURS["gauge_over" if over else "gauge_ok"]))
        if self.limit_deg2:
            xl = track.left() + track.width() / 1.5
            pen = QtGui.QPen(QtGui.QColor(COLOURS["text"]), max(2.0, self.height() * 0.06))
            p.setPen(pen)
            p.drawLine(QtCore.QPointF(xl, track.top() - 4), QtCore.QPointF(xl, track.bottom() + 4))
            over = (self.sway_deg2 or 0.0) > float(self.limit_deg2)
            word = "OVER LIMIT" if over else "limit"
            small = _cached_font(max(7, int(self._px * 0.7)))
            p.setFont(small)
            p.setPen(QtGui.QColor(COLOURS["text"]))
            fm = QtGui.QFontMetricsF(small)
            room = track.right() - xl - 6
            if fm.horizontalAdvance(word) <= room:
                p.drawText(QtCore.QRectF(xl + 6, track.top(), room, track.height()), align, word)
        p.end()


class TherapistStrip(QtWidgets.QWidget):
    """The thin strip at the bottom edge for the therapist: key hints, channel quality, latency (small, muted)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(COLOURS["strip_background"]))
        self.setPalette(pal)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(8, 0, 8, 0)
        row.setSpacing(16)
        self.keys_label = FitLabel(bold=False, colour=COLOURS["muted_text"])
        self.quality_label = FitLabel(
            bold=False, colour=COLOURS["muted_text"], align=QtCore.Qt.AlignmentFlag.AlignCenter
        )
        self.latency_label = FitLabel(
            bold=False,
            colour=COLOURS["muted_text"],
            align=QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
        )
        self.keys_label.setText(KEY_HINTS)
        row.addWidget(self.keys_label, 5)
        row.addWidget(self.quality_label, 4)
        row.addWidget(self.latency_label, 2)

    def labels(self) -> list[FitLabel]:
        return [self.keys_label, self.quality_label, self.latency_label]

    def set_px(self, px: int) -> None:
        for lab in self.labels():
            lab.set_px(px)


# ====================================================================== the view
class FeedbackView(QtWidgets.QWidget):
    """The patient's screen for one session (channels x samples of activation in % of reference)."""

    pause_toggled = QtCore.Signal(bool)
    mark_requested = QtCore.Signal()
    stop_requested = QtCore.Signal()
    resume_requested = QtCore.Signal()
    estimate_entered = QtCore.Signal(float)  # awareness trials: digits then Enter, in %
    band_shift_requested = QtCore.Signal(float)  # Up / + : +5.0, Down / - : -5.0 (% of reference)

    def __init__(
        self,
        channel_names: Sequence[str],
        fs_hz: float,
        *,
        history_s: float = 8.0,
        max_pct: float = 120.0,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.channel_names = list(channel_names)
        self.display_names = [display_name(n) for n in self.channel_names]
        self.n_channels = len(self.channel_names)
        self.fs_hz = float(fs_hz)
        self.history_s = float(history_s)
        self.max_pct = float(max_pct)
        self.paused = False
        self._frame = ViewFrame()
        self._success_until = 0.0
        self._last_success_seen = False
        self._failure_until = 0.0
        self._last_failure_seen = False
        self._status_kind = ""
        n_hist = max(2, int(round(self.history_s * self.fs_hz)))
        self._hist = np.zeros((self.n_channels, n_hist))
        self._hist_x = (np.arange(n_hist) - (n_hist - 1)) / self.fs_hz  # seconds before now
        self._hist_filled = 0
        self._levels = np.zeros(self.n_channels)
        self._dirty = True
        self._entry = ""  # digits typed for an estimate
        self._latency_text = ""
        self._quality: list[str] = []
        self._scale_label = ""
        self._focus: tuple[int, ...] = ()
        self._slots = channel_slots(self.n_channels, ())
        self._lookahead_s = 0.0
        self._height_px = 0
        self._lines_shown: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {}

        self.setWindowTitle("EMG biofeedback")
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(COLOURS["background"]))
        self.setPalette(pal)
        self.resize(1280, 720)
        self._build()
        self._apply_scale(720)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        pg.setConfigOptions(antialias=False, background=COLOURS["background"], foreground="w")
        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self._patient = QtWidgets.QWidget()
        body = QtWidgets.QVBoxLayout(self._patient)
        self._body = body
        root.addWidget(self._patient, 1)

        top = QtWidgets.QHBoxLayout()
        self.title_label = FitLabel()
        self.counter_label = FitLabel(align=QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.title_label, 3)
        top.addWidget(self.counter_label, 2)
        body.addLayout(top)

        self.cue_label = FitLabel(align=QtCore.Qt.AlignmentFlag.AlignCenter)
        body.addWidget(self.cue_label)
        self.message_label = FitLabel(align=QtCore.Qt.AlignmentFlag.AlignCenter, wrap=True)
        body.addWidget(self.message_label)
        self.sway_gauge = SwayGauge()
        self.sway_gauge.setVisible(False)
        body.addWidget(self.sway_gauge)

        plots = QtWidgets.QHBoxLayout()
        plots.setSpacing(8)
        self.bar_plot = pg.PlotWidget()
        self.env_plot = pg.PlotWidget()
        for pw in (self.bar_plot, self.env_plot):
            pw.setMenuEnabled(False)
            pw.setViewportUpdateMode(QtWidgets.QGraphicsView.ViewportUpdateMode.NoViewportUpdate)
            pw.setMouseEnabled(x=False, y=False)
            pw.hideButtons()
            pw.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored)
            # a little room under 0 so the "0" tick is not cut; ticks up to 100 so the top one is never cut
            pw.setYRange(-0.05 * self.max_pct, self.max_pct, padding=0)
            # no pyqtgraph grid: its axis replays a QPicture of every grid line (~2 ms a frame)
            left = pw.getPlotItem().getAxis("left")
            step = 25 if self.max_pct <= 160 else 50
            left.setTicks([[(v, f"{v:g}") for v in np.arange(0, self.max_pct - 0.1 * self.max_pct + 1e-9, step)], []])
            left.setStyle(hideOverlappingLabels=False, autoExpandTextSpace=False)
            pw.getPlotItem().getAxis("bottom").setStyle(hideOverlappingLabels=False, autoExpandTextSpace=False)
        stretch = (2, 3) if self.n_channels <= 6 else (1, 1)
        plots.addWidget(self.bar_plot, stretch[0])
        plots.addWidget(self.env_plot, stretch[1])
        body.addLayout(plots, 1)

        # --- bars
        bp = self.bar_plot.getPlotItem()
        self._ceiling_zone = Rects(over_background(COLOURS["ceiling"], CEILING_ZONE_ALPHA))
        self._ceiling_zone.setZValue(-1)
        bp.addItem(self._ceiling_zone)
        # the band is drawn behind everything on the plain background: an opaque colour equal to orange at
        # BAND_ALPHA over the background looks the same and avoids alpha blending (~0.6 ms a frame)
        band_rgba = over_background(COLOURS["band"], BAND_ALPHA)
        self._band_item = Rects(band_rgba)
        self._band_item.setZValue(0)
        bp.addItem(self._band_item)
        self._bar_items: dict[str, Rects] = {}
        for key in ("level_below", "level_in_band", "level_above", "level_rest"):
            item = Rects(QtGui.QColor(COLOURS[key]))
            item.setZValue(5)
            bp.addItem(item)
            self._bar_items[key] = item
        # PlotCurveItem, never PlotDataItem: with PySide6 6.12 PlotDataItem.setData corrupts the refcount
        # of True/False through QObject.property() and the interpreter aborts after a few hundred frames.
        self._bar_thr = pg.PlotCurveItem(connect="pairs")
        self._bar_ceiling = pg.PlotCurveItem(connect="pairs")
        self._bar_marker = pg.PlotCurveItem(connect="pairs")
        for z, item in enumerate((self._bar_thr, self._bar_ceiling, self._bar_marker)):
            item.setZValue(10 + z)
            bp.addItem(item)
        self._bar_texts = PlotTexts(avoid_overlap=False)
        self._bar_texts.setZValue(20)
        bp.addItem(self._bar_texts)

        # --- scrolling trace
        ep = self.env_plot.getPlotItem()
        self._env_band = pg.LinearRegionItem(
            values=(0, 0), orientation="horizontal", movable=False, brush=band_rgba, pen=pg.mkPen(None)
        )
        self._env_band.setZValue(-10)
        self._env_band.setVisible(False)
        ep.addItem(self._env_band)
        self._lookahead_region = pg.LinearRegionItem(
            values=(0, 1),
            orientation="vertical",
            movable=False,
            brush=over_background(COLOURS["now"], LOOKAHEAD_ALPHA),
            pen=pg.mkPen(None),
        )
        self._lookahead_region.setZValue(-11)
        self._lookahead_region.setVisible(False)
        ep.addItem(self._lookahead_region)
        self._now_line = pg.InfiniteLine(pos=0, angle=90, movable=False)
        self._now_line.setVisible(False)
        ep.addItem(self._now_line)
        self._env_thr = pg.PlotCurveItem(connect="pairs")
        self._env_ceiling = pg.PlotCurveItem(connect="pairs")
        ep.addItem(self._env_thr)
        ep.addItem(self._env_ceiling)
        self._curves = []
        for _ in range(self.n_channels):
            curve = pg.PlotCurveItem(skipFiniteCheck=True)
            curve.setZValue(5)
            ep.addItem(curve)
            self._curves.append(curve)
        self._path_curve = pg.PlotCurveItem(skipFiniteCheck=True)
        self._path_curve.setZValue(4)
        ep.addItem(self._path_curve)
        self._env_marker = pg.PlotCurveItem(connect="pairs")
        self._env_marker.setZValue(6)
        ep.addItem(self._env_marker)
        self._env_texts = PlotTexts(avoid_overlap=True)
        self._env_texts.setZValue(20)
        ep.addItem(self._env_texts)

        self.status_label = FitLabel(align=QtCore.Qt.AlignmentFlag.AlignCenter)
        body.addWidget(self.status_label)
        self.summary_label = FitLabel(bold=False, wrap=True, align=QtCore.Qt.AlignmentFlag.AlignCenter)
        self.summary_label.setVisible(False)
        body.addWidget(self.summary_label)

        self.strip = TherapistStrip()
        root.addWidget(self.strip)
        self._set_x_layout((), 0.0, force=True)
        self.set_scale_label("% of reference")
        self.set_status("")

    def _apply_scale(self, height_px: int) -> None:
        """Font sizes, row heights and strokes from the window height (called on every resize)."""
        if height_px == self._height_px or height_px <= 0:
            return
        self._height_px = h = height_px
        u = unit_px(h)
        m = int(round(1.2 * u))
        self._body.setContentsMargins(m, int(0.6 * u), m, int(0.6 * u))
        self._body.setSpacing(int(0.6 * u))
        for lab, role, row in (
            (self.title_label, "title", "header"),
            (self.counter_label, "counter", "header"),
            (self.cue_label, "cue", "cue"),
            (self.message_label, "message", "message"),
            (self.status_label, "status", "status"),
        ):
            lab.set_px(font_px(role, h))
            lab.setFixedHeight(row_px(row, h))
        self.summary_label.set_px(font_px("summary", h))
        self.summary_label.setFixedHeight(int(row_px("cue", h) * 1.1))
        self.sway_gauge.set_px(font_px("gauge", h))
        self.sway_gauge.setFixedHeight(row_px("gauge", h))
        self.strip.set_px(font_px("strip", h))
        self.strip.setFixedHeight(max(font_px("strip", h) + 6, row_px("strip", h)))
        tick_px, title_px = font_px("tick", h), font_px("axis_title", h)
        tick_font = pixel_font(tick_px, bold=False)
        tick_h = QtGui.QFontMetrics(tick_font).height()
        for pw in (self.bar_plot, self.env_plot):
            pi = pw.getPlotItem()
            for name in ("left", "bottom"):
                ax = pi.getAxis(name)
                ax.setTickFont(tick_font)
                ax.setStyle(tickLength=int(0.8 * u), tickTextOffset=int(0.5 * u))
                ax.setPen(pg.mkPen("#DDDDDD", width=max(1, int(0.2 * u))))
                ax.setTextPen(pg.mkPen("#FFFFFF"))
            pi.getAxis("left").setWidth(int(QtGui.QFontMetrics(tick_font).horizontalAdvance("100") + 1.6 * u))
            pi.getAxis("bottom").setHeight(int(2 * tick_h + 1.6 * u))  # channel names may take two lines
        # the bar chart's left axis also carries the scale label
        self.bar_plot.getPlotItem().getAxis("left").setWidth(
            int(QtGui.QFontMetrics(tick_font).horizontalAdvance("100") + 1.6 * u + title_px * 1.5)
        )
        self.env_plot.getPlotItem().getAxis("bottom").setHeight(int(2 * tick_h + 2.0 * u))
        w = stroke_px(h)
        self._pens = {
            "threshold": pg.mkPen(COLOURS["threshold"], width=w, style=QtCore.Qt.PenStyle.DashLine),
            "ceiling": pg.mkPen(COLOURS["ceiling"], width=1.4 * w),
            "marker": pg.mkPen(COLOURS["target_marker"], width=1.4 * w),
            "path": pg.mkPen(COLOURS["target_path"], width=1.6 * w),
            "focus": pg.mkPen(COLOURS["trace_focus"], width=max(2.0, 0.8 * w)),
            "other": pg.mkPen(COLOURS["trace_other"], width=max(1.0, 0.45 * w)),
            "now": pg.mkPen(COLOURS["now"], width=max(1.0, 0.4 * w), style=QtCore.Qt.PenStyle.DashLine),
        }
        self._bar_thr.setPen(self._pens["threshold"])
        self._env_thr.setPen(self._pens["threshold"])
        self._bar_ceiling.setPen(self._pens["ceiling"])
        self._env_ceiling.setPen(self._pens["ceiling"])
        self._bar_marker.setPen(self._pens["marker"])
        self._env_marker.setPen(self._pens["marker"])
        self._path_curve.setPen(self._pens["path"])
        self._now_line.setPen(self._pens["now"])
        self._curve_pens_for: tuple[int, ...] | None = None
        self._apply_axis_titles()
        self._apply_bar_ticks()
        self.layout().activate()  # the rows take their new heights now, not at the next event-loop pass
        self._dirty = True

    def _apply_axis_titles(self) -> None:
        h = self._height_px or 720
        style = {"font-size": f"{font_px('axis_title', h)}px", "color": "#FFFFFF"}
        self.bar_plot.getPlotItem().getAxis("left").setLabel(self._scale_label, **style)
        self.env_plot.getPlotItem().getAxis("left").setLabel("")
        self.env_plot.getPlotItem().getAxis("left").showLabel(False)
        self.env_plot.getPlotItem().getAxis("bottom").setLabel("seconds (0 = now)", **style)

    def _tick_names(self) -> list[tuple[float, str, int]]:
        """(x, text, font px) of each channel's name under its bar: the human name if it fits its slot,
        else the initials, else the channel number."""
        h = self._height_px or 720
        px = font_px("tick", h)
        vb_w = max(1.0, self.bar_plot.getPlotItem().vb.width())
        per_unit = vb_w / max(self._slots.span, 1e-9)
        # many channels in a small window: a smaller type, so at least every channel's number fits its slot
        narrowest = min(self._slots.widths) * per_unit * 0.94
        while px > 7 and _advance(px, str(self.n_channels)) > narrowest:
            px -= 1
        fm = _metrics(px)
        out = []
        for ch in range(self.n_channels):
            room = self._slots.widths[ch] * per_unit * 0.94
            choice = str(ch + 1)
            for cand in name_candidates(self.display_names[ch]) + [str(ch + 1)]:
                if max(fm.horizontalAdvance(line) for line in cand.split("\n")) <= room:
                    choice = cand
                    break
            out.append((self._slots.centres[ch], choice, px))
        return out

    def _apply_bar_ticks(self) -> None:
        names = self._tick_names()
        ticks = [(x, text) for x, text, _ in names]
        px = names[0][2] if names else font_px("tick", self._height_px or 720)
        if (ticks, px) != getattr(self, "_bar_ticks", None):
            self._bar_ticks = (ticks, px)
            axis = self.bar_plot.getPlotItem().getAxis("bottom")
            axis.setTickFont(pixel_font(px, bold=False))
            axis.setTicks([ticks, []])

    def _set_x_layout(self, focus: tuple[int, ...], lookahead_s: float, force: bool = False) -> None:
        """Bar slots for the trained channels and the trace's look-ahead (only when they change)."""
        if force or focus != self._focus:
            self._focus = focus
            self._slots = channel_slots(self.n_channels, focus)
            self.bar_plot.getPlotItem().setXRange(0, self._slots.span, padding=0)
            self._bar_texts.set_data_bounds(
                QtCore.QRectF(0, -0.05 * self.max_pct, self._slots.span, 1.05 * self.max_pct)
            )
            self._apply_bar_ticks()
        if force or lookahead_s != self._lookahead_s:
            self._lookahead_s = lookahead_s
            # a little room right of the last second so its tick label is not cut at the edge
            right = lookahead_s + 0.035 * (self.history_s + lookahead_s)
            self.env_plot.getPlotItem().setXRange(-self.history_s, right, padding=0)
            self._env_texts.set_data_bounds(
                QtCore.QRectF(-self.history_s, -0.05 * self.max_pct, self.history_s + lookahead_s, 1.05 * self.max_pct)
            )
            self._lookahead_region.setVisible(lookahead_s > 0)
            self._now_line.setVisible(lookahead_s > 0)
            if lookahead_s > 0:
                self._lookahead_region.setRegion((0.0, lookahead_s))

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        self._apply_scale(event.size().height())
        super().resizeEvent(event)
        QtCore.QTimer.singleShot(0, self._apply_bar_ticks)  # the plots have their new widths after layout

    def present(self, fullscreen: bool) -> None:
        """Show full screen, or as a 1280x720 window (F11 toggles)."""
        if fullscreen:
            # the screen's whole area first: without a window manager (a kiosk, Xvfb) showFullScreen alone
            # leaves the window at its old size
            screen = self.screen() or QtGui.QGuiApplication.primaryScreen()
            if screen is not None:
                self.setGeometry(screen.geometry())
            self.showFullScreen()
        else:
            self.showNormal()
            self.resize(1280, 720)
            self.show()
        self.raise_()
        self.activateWindow()

    # ------------------------------------------------------------------ inputs
    def push(self, activation_pct: np.ndarray) -> None:
        """Append new activation samples, (C, n) in % of reference, to the scrolling envelope."""
        a = np.asarray(activation_pct, dtype=np.float64)
        if a.ndim != 2 or a.shape[0] != self.n_channels:
            raise ValueError(f"activation must be ({self.n_channels}, n), got {a.shape}")
        n = a.shape[1]
        if n == 0:
            return
        n_hist = self._hist.shape[1]
        if n >= n_hist:
            self._hist[:] = a[:, -n_hist:]
        else:
            self._hist[:, :-n] = self._hist[:, n:]
            self._hist[:, -n:] = a
        self._hist_filled = min(n_hist, self._hist_filled + n)
        last = a[:, -1]
        self._levels = np.where(np.isfinite(last), last, 0.0)
        self._dirty = True

    def set_frame(self, state: Any) -> None:
        """Show the drill's state (a ``feedback.state.DrillState``, a dict of ViewFrame fields, or a ViewFrame)."""
        frame = frame_from_state(state)
        if frame.success and not self._last_success_seen:  # the newest result wins
            self._success_until, self._failure_until = time.monotonic() + SUCCESS_FLASH_S, 0.0
        if frame.failure and not self._last_failure_seen:
            self._failure_until, self._success_until = time.monotonic() + SUCCESS_FLASH_S, 0.0
        self._last_success_seen = frame.success
        self._last_failure_seen = frame.failure
        self._frame = frame
        if frame.scale_label:
            self.set_scale_label(frame.scale_label)
        self._dirty = True

    def set_latency(self, p50_ms: float | None, p95_ms: float | None) -> None:
        """Show the recent sample-to-screen latency on the therapist strip (None hides it)."""
        self._latency_text = (
            "" if p50_ms is None or p95_ms is None else f"latency {p50_ms:.0f} ms (p95 {p95_ms:.0f} ms)"
        )
        self.strip.latency_label.setText(self._latency_text)

    def set_channel_quality(self, status: Sequence[str]) -> None:
        """One short word per channel (``"ok"``, ``"railed"``, ``"flat"``, ``"noisy"``, ``"lost"``) on the strip."""
        words = [str(s) for s in status]
        if words == self._quality:
            return
        self._quality = words
        names = [short_name(n) for n in self.channel_names]
        bad = [(names[i] if i < len(names) else str(i + 1), w) for i, w in enumerate(words) if w.lower() != "ok"]
        if not words:
            text = ""
        elif not bad:
            text = f"signal: all {len(words)} ok"
        else:
            text = "signal: " + ", ".join(f"{n} {w}" for n, w in bad)
        self.strip.quality_label.setText(text)
        self.strip.quality_label.set_colours(OKABE_ITO["orange"] if bad else COLOURS["muted_text"])

    def set_scale_label(self, text: str) -> None:
        """What the vertical axes measure, e.g. ``"% of reference"`` (the bar chart's axis title)."""
        if text != self._scale_label:
            self._scale_label = text
            self._apply_axis_titles()

    def set_status(self, text: str = "", kind: str = "info") -> None:
        """Status line: ``kind`` is ``"info"``, ``"warning"`` (paused, artefact) or ``"error"`` (board lost)."""
        kind = kind if text else ""
        self.status_label.setText(text)
        self._status_kind = kind
        colour = {"warning": OKABE_ITO["orange"], "error": COLOURS["warning"]}.get(kind)
        self.status_label.set_colours("#000000" if colour else COLOURS["text"], colour)

    def show_summary(self, summary: dict[str, Any]) -> None:
        """Show the end-of-session summary (reps attempted / succeeded / planned, per-rep means, latency)."""
        self.summary_label.setText(format_summary(summary))
        self.summary_label.setVisible(True)
        self._frame.finished = True
        if summary.get("stopped_early"):
            self._frame.stopped_early = True
        self._dirty = True

    # ------------------------------------------------------------------ drawing
    def _focus_channels(self, f: ViewFrame) -> tuple[int, ...]:
        chans = set(f.bands_pct) | set(f.ceilings_pct) | set(f.target_marker_pct)
        if f.channel is not None:
            chans.add(f.channel)
        return tuple(sorted(c for c in chans if 0 <= c < self.n_channels))

    def _path(self, f: ViewFrame) -> tuple[np.ndarray, np.ndarray] | None:
        """The tracking path as (t_rel_s, pct) arrays, or None."""
        if f.target_path_pct is None:
            return None
        arr = np.asarray(f.target_path_pct, dtype=np.float64)
        if arr.ndim != 2 or arr.size == 0:
            return None
        if arr.shape[0] == 2:  # (times, values), as ViewFrame types it
            t, v = arr[0], arr[1]
        elif arr.shape[1] == 2:  # ((t, v), ...) pairs
            t, v = arr[:, 0], arr[:, 1]
        else:
            return None
        ok = np.isfinite(t) & np.isfinite(v)
        return (t[ok], v[ok]) if ok.any() else None

    def _cue(self, f: ViewFrame, now: float) -> tuple[str, str | None, str]:
        """(cue text, background colour or None, text colour)."""
        if f.finished:
            return ("STOPPED" if f.stopped_early else (f.cue_text() or "DONE")), None, COLOURS["text"]
        if now < self._success_until:
            return "\u2713 GOOD", COLOURS["success"], "#000000"
        if now < self._failure_until or f.failure:
            return "TRY AGAIN", COLOURS["missed"], "#000000"
        if f.stage == "calibration_rest":
            return (f.cue_text() or "RESTING"), None, COLOURS["level_below"]
        return f.cue_text(), None, COLOURS["text"]

    def _message(self, f: ViewFrame, trying_again: bool) -> tuple[str, str]:
        """(message text, colour)."""
        if f.finished and (f.reps_planned or f.attempted):
            # the drill's own count (a rep cut short by the stop is not attempted): the same figure as the summary
            return summary_headline(f.attempted, f.successes, f.reps_planned or None, f.stopped_early), COLOURS["text"]
        if trying_again and f.failure_reason:
            return f.failure_reason, OKABE_ITO["orange"]
        text = ("Display hidden: aim, then give your estimate.  " if f.hidden else "") + (f.message or "")
        if not text and f.stage == "calibration_rest":
            text = "Stay relaxed: this measures your resting level"
        return text, (OKABE_ITO["orange"] if f.gating else COLOURS["text"])

    def refresh(self) -> None:
        """Update every plot item and label from the latest samples and state (no painting)."""
        f = self._frame
        now = time.monotonic()
        h = self._height_px or 720
        # counters
        parts = []
        if f.reps_total:
            parts.append(f"Rep {min(f.rep, f.reps_total)}/{f.reps_total}")
        if f.sets_total > 1:
            parts.append(f"Set {f.set_index}/{f.sets_total}")
        if f.reps_total or f.successes:
            parts.append(f"\u2713 {f.successes}")
        self.counter_label.setText("   ".join(parts))
        self.title_label.setText(f.title)
        cue, bg, fg = self._cue(f, now)
        self.cue_label.setText(cue)
        self.cue_label.set_colours(fg, bg)
        msg, msg_colour = self._message(f, cue == "TRY AGAIN")
        self.message_label.setText(msg)
        self.message_label.set_colours(msg_colour)
        show_gauge = f.sway_limit_deg2 is not None or f.sway_deg2 is not None
        if show_gauge != self.sway_gauge.isVisible():
            self.sway_gauge.setVisible(show_gauge)
        if show_gauge:
            self.sway_gauge.set_values(f.sway_deg2, f.sway_limit_deg2, f.tilt_deg)

        path = self._path(f)
        ahead = float(np.max(path[0])) if path is not None else 0.0
        # whole seconds, and never shrinking within a session: the time axis does not jump as a path ends
        lookahead = max(self._lookahead_s, float(np.ceil(ahead - 1e-6))) if ahead > 0 else self._lookahead_s
        focus = self._focus_channels(f)
        self._set_x_layout(focus, lookahead)
        slots = self._slots
        self._draw_bars(f, focus, slots, h)
        self._draw_trace(f, focus, path, h)
        self._dirty = False

    def _draw_bars(self, f: ViewFrame, focus: tuple[int, ...], slots: Slots, h: int) -> None:
        lv = np.clip(self._levels, 0.0, self.max_pct)
        rects: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in self._bar_items}
        bands, zones, thr, ceil_xy, mark_xy = [], [], ([], []), ([], []), ([], [])
        texts: list[TextSpec] = []
        resting = f.stage == "calibration_rest"
        for ch in range(self.n_channels):
            c, w = slots.centres[ch], slots.widths[ch]
            bw, bdw = w * BAR_FILL * (1.0 if ch in focus else 0.8), w * BAND_FILL
            band = f.bands_pct.get(ch)
            ceiling = f.ceilings_pct.get(ch)
            v = lv[ch]
            if resting:
                key, word = "level_rest", "RESTING"
            elif ceiling is not None and v > ceiling:
                key, word = "level_above", "OVER"
            elif ceiling is not None:
                key, word = "level_below", "STAY BELOW"
            elif band is None:
                key, word = "level_below", ""
            elif v > band[1]:
                key, word = "level_above", "TOO HIGH"
            elif v >= band[0]:
                key, word = "level_in_band", "IN BAND"
            else:
                key, word = "level_below", "HIGHER"
            if band is not None:
                bands.append((c - bdw / 2, band[0], bdw, band[1] - band[0]))
            if ceiling is not None:
                zones.append((c - bdw / 2, ceiling, bdw, self.max_pct - ceiling))
                ceil_xy[0].extend([c - bdw / 2, c + bdw / 2])
                ceil_xy[1].extend([ceiling, ceiling])
            for y in f.thresholds_pct.get(ch, []):
                thr[0].extend([c - bdw / 2, c + bdw / 2])
                thr[1].extend([y, y])
            marker = f.target_marker_pct.get(ch)
            if marker is not None:
                mark_xy[0].extend([c - bdw / 2, c + bdw / 2])
                mark_xy[1].extend([marker, marker])
            if f.hidden:
                continue
            rects[key].append((c - bw / 2, 0.0, bw, v))
            is_focus = ch in focus
            word_px = font_px("level_other", h)
            texts.append(
                TextSpec(
                    c,
                    v,
                    f"{max(self._levels[ch], 0.0):.0f}" + (" %" if is_focus else ""),  # below the rest floor reads 0
                    font_px("level_focus" if is_focus else "level_other", h),
                    anchor=(0.5, 1.0),
                    offset_px=(0.0, -3.0),
                    max_w=0.96 * w,
                    top_reserve_px=(_metrics(word_px).height() + 2) if (is_focus and word) else 0.0,
                    halo=is_focus,
                )
            )
            if is_focus and word:
                texts.append(
                    TextSpec(c, self.max_pct, word, word_px, colour=COLOURS[key], anchor=(0.5, 0.0), max_w=0.96 * w)
                )
        for key, item in self._bar_items.items():
            item.set_rects(rects[key])
        self._band_item.set_rects(bands)
        self._ceiling_zone.set_rects(zones)
        self._set_lines(self._bar_thr, thr[0], thr[1])
        self._set_lines(self._bar_ceiling, ceil_xy[0], ceil_xy[1])
        self._set_lines(self._bar_marker, mark_xy[0], mark_xy[1])
        self._bar_texts.set_texts(texts)

    def _draw_trace(
        self, f: ViewFrame, focus: tuple[int, ...], path: tuple[np.ndarray, np.ndarray] | None, h: int
    ) -> None:
        main = f.channel if f.channel is not None and 0 <= f.channel < self.n_channels else None
        involved = set(focus) | {c for c in f.thresholds_pct if 0 <= c < self.n_channels}
        n = self._hist_filled
        n_visible = self.n_channels if (f.hidden or not involved) else len(involved)
        max_points = int(np.clip(CURVE_POINT_BUDGET / max(1, n_visible), 150, MAX_CURVE_POINTS))
        # at most max_points per curve, striding back from the newest sample so it is always drawn
        step = max(1, int(np.ceil(n / max_points))) if n else 1
        idx = np.arange(self._hist.shape[1] - 1, self._hist.shape[1] - 1 - n, -step)[::-1] if n else np.arange(0)
        x = self._hist_x[idx]
        pens_key = (main if main is not None else -1, *sorted(involved))
        if pens_key != self._curve_pens_for:
            self._curve_pens_for = pens_key
            for ch, curve in enumerate(self._curves):
                curve.setPen(
                    self._pens["focus"] if (ch == main or (main is None and ch in focus)) else self._pens["other"]
                )
                curve.setZValue(6 if ch == main else 5)
        for ch, curve in enumerate(self._curves):
            # the drill's channels only (all of them when the drill names none): readable, and cheap to draw
            visible = not f.hidden and (not involved or ch in involved)
            if visible != curve.isVisible():
                curve.setVisible(visible)
            if visible:
                curve.setData(x, self._hist[ch, idx])
        band = f.bands_pct.get(main) if main is not None else None
        if band is None and f.bands_pct:
            band = next(iter(f.bands_pct.values()))
        self._env_band.setVisible(band is not None)
        if band is not None and tuple(self._env_band.getRegion()) != tuple(band):
            self._env_band.setRegion(band)
        t0, t1 = -self.history_s, self._lookahead_s
        thr_values = sorted({y for ch in f.thresholds_pct for y in f.thresholds_pct[ch]})
        self._set_lines(self._env_thr, [t0, t1] * len(thr_values), [y for y in thr_values for _ in (0, 1)])
        ceilings = sorted(f.ceilings_pct.items())
        cvals = [v for _, v in ceilings]
        self._set_lines(self._env_ceiling, [t0, t1] * len(cvals), [y for y in cvals for _ in (0, 1)])
        if path is not None and not f.hidden:
            self._path_curve.setData(path[0], path[1])
            self._path_curve.setVisible(True)
        else:
            self._path_curve.setVisible(False)
        marker = f.target_marker_pct.get(main) if main is not None else None
        if marker is not None and path is None and not f.hidden:
            self._set_lines(self._env_marker, [-0.6, max(0.0, t1)], [marker, marker])
            self._env_marker.setVisible(True)
        else:
            self._env_marker.setVisible(False)

        # words beside the lines (what each colour means), kept apart from one another
        px = font_px("line_label", h)
        texts: list[TextSpec] = []
        lab_x = t0
        if band is not None:
            texts.append(
                TextSpec(
                    lab_x, band[1], f"aim here {band[0]:.0f}\u2013{band[1]:.0f} %", px,
                    anchor=(0.0, 1.0), offset_px=(4, -2), swatch=COLOURS["band"], box_background=True,
                )
            )  # fmt: skip
        for ch, value in ceilings:
            who = self.display_names[ch] + ": " if len(involved) > 1 else ""
            texts.append(
                TextSpec(
                    lab_x, value, f"{who}stay below {value:.0f} %", px,
                    anchor=(0.0, 1.0), offset_px=(4, -2), swatch=COLOURS["ceiling"], box_background=True,
                )
            )  # fmt: skip
        for value in thr_values:
            texts.append(
                TextSpec(
                    lab_x, value, f"relax below {value:.0f} %", px,
                    anchor=(0.0, 0.0), offset_px=(4, 2), swatch=COLOURS["threshold"], box_background=True,
                )
            )  # fmt: skip
        if path is not None and not f.hidden:
            texts.append(
                TextSpec(
                    t1,
                    self.max_pct,
                    "coming up",
                    px,
                    colour=COLOURS["muted_text"],
                    anchor=(1.0, 0.0),
                    offset_px=(-4, 2),
                )
            )
            texts.append(
                TextSpec(
                    t0, self.max_pct, "follow the line", px,
                    anchor=(0.0, 0.0), offset_px=(4, 2), swatch=COLOURS["target_path"], box_background=True,
                )
            )  # fmt: skip
        elif marker is not None and not f.hidden:
            texts.append(
                TextSpec(
                    t0, self.max_pct, f"target now {marker:.0f} %", px,
                    anchor=(0.0, 0.0), offset_px=(4, 2), swatch=COLOURS["target_marker"], box_background=True,
                )
            )  # fmt: skip
        if len(involved) > 1 and not f.hidden and n:
            for ch in sorted(involved):
                texts.append(
                    TextSpec(
                        t0, float(np.clip(self._hist[ch, -1], 0, self.max_pct)), self.display_names[ch], px,
                        colour=COLOURS["trace_focus"] if ch == main else COLOURS["trace_other"],
                        anchor=(1.0, 1.0), offset_px=(0, -2),
                    )
                )  # fmt: skip
                texts[-1].x = min(0.0, t1) if t1 <= 0 else 0.0
        self._env_texts.set_texts(texts)

    def _set_lines(self, item: pg.PlotCurveItem, xs: list[float], ys: list[float]) -> None:
        """Line segments (pairs of points) for ``item``, handed to pyqtgraph only when they change."""
        key = (tuple(xs), tuple(ys))
        if self._lines_shown.get(id(item)) != key:
            self._lines_shown[id(item)] = key
            item.setData(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))

    def paint_now(self) -> float:
        """Refresh and paint synchronously; return the wall-clock time (unix s) the frame was painted."""
        self.refresh()
        # The plots carry the samples: paint their data areas now (axes are static and stay as painted).
        # The views never repaint by themselves (NoViewportUpdate), so nothing is painted twice.
        # Labels changed by refresh() were scheduled with update() and paint at the next event-loop pass.
        for pw in (self.bar_plot, self.env_plot):
            vb = pw.getPlotItem().vb
            rect = pw.mapFromScene(vb.sceneBoundingRect()).boundingRect()
            pw.viewport().repaint(rect)
        return time.time()

    def save_png(self, path: str) -> None:
        """Write what the view shows now to a PNG file."""
        self.refresh()
        if not self.grab().save(str(path), "PNG"):
            raise OSError(f"could not write the frame image {path}")

    # ------------------------------------------------------------------ geometry (for tests and overlays)
    def bar_point(self, channel: float, pct: float) -> QtCore.QPoint:
        """Where (channel, pct) of the bar chart lands, in this widget's pixels; a fractional channel moves
        across that channel's slot (``2.3`` is 0.3 of channel 2's slot right of its centre)."""
        vb = self.bar_plot.getPlotItem().vb
        scene_pt = vb.mapViewToScene(QtCore.QPointF(self._slots.x(float(channel)), float(pct)))
        view_pt = self.bar_plot.mapFromScene(scene_pt)
        return self.bar_plot.mapTo(self, view_pt)

    def env_point(self, t_rel_s: float, pct: float) -> QtCore.QPoint:
        """Where (seconds from now, negative = past, pct) of the trace lands, in this widget's pixels."""
        vb = self.env_plot.getPlotItem().vb
        scene_pt = vb.mapViewToScene(QtCore.QPointF(float(t_rel_s), float(pct)))
        view_pt = self.env_plot.mapFromScene(scene_pt)
        return self.env_plot.mapTo(self, view_pt)

    def gauge_point(self, sway_deg2: float) -> QtCore.QPoint:
        """Where ``sway_deg2`` lands on the sway gauge, in this widget's pixels."""
        return self.sway_gauge.mapTo(self, self.sway_gauge.track_point(sway_deg2))

    def _plot_text_boxes(self, pw: pg.PlotWidget, item: PlotTexts) -> list[tuple[str, QtCore.QRectF, str, str]]:
        vb = pw.getPlotItem().vb

        def to_px(x: float, y: float) -> tuple[float, float]:
            p = pw.mapTo(self, pw.mapFromScene(vb.mapViewToScene(QtCore.QPointF(x, y))))
            return float(p.x()), float(p.y())

        b = item.boundingRect()
        (x0, y0), (x1, y1) = to_px(b.left(), b.bottom()), to_px(b.right(), b.top())
        bounds = (min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
        x_scale = abs(to_px(1.0, 0.0)[0] - to_px(0.0, 0.0)[0])
        out = []
        for spec, (box, px) in zip(item.specs, item.layout(to_px, x_scale, bounds), strict=True):
            fm = _metrics(px)
            needed = fm.horizontalAdvance(spec.text)
            shown = spec.text if needed <= box[2] + 0.5 else ""
            out.append((f"plot text {spec.text!r}", QtCore.QRectF(*box), spec.text, shown))
        return out

    def text_boxes(self) -> list[tuple[str, QtCore.QRectF, str, str]]:
        """Every visible text on the screen as (name, box in this widget's pixels, full text, shown text).

        ``shown`` differs from the full text when it was elided to fit; used by the layout tests.
        """
        out: list[tuple[str, QtCore.QRectF, str, str]] = []
        labels = [
            ("title", self.title_label),
            ("counter", self.counter_label),
            ("cue", self.cue_label),
            ("message", self.message_label),
            ("status", self.status_label),
            ("summary", self.summary_label),
        ]
        if self.strip.isVisible():
            labels += [("strip keys", self.strip.keys_label), ("strip quality", self.strip.quality_label)]
            labels += [("strip latency", self.strip.latency_label)]
        for name, lab in labels:
            if lab.isVisible() and lab.text():
                r = lab.text_box()
                top_left = lab.mapTo(self, QtCore.QPoint(0, 0))
                out.append((name, r.translated(top_left.x(), top_left.y()), lab.text(), lab.shown_text()))
        if self.sway_gauge.isVisible():
            top_left = self.sway_gauge.mapTo(self, QtCore.QPoint(0, 0))
            for name, r, text in self.sway_gauge.text_boxes():
                out.append((f"gauge {name}", r.translated(top_left.x(), top_left.y()), text, text))
        out += self._plot_text_boxes(self.bar_plot, self._bar_texts)
        out += self._plot_text_boxes(self.env_plot, self._env_texts)
        axis = self.bar_plot.getPlotItem().getAxis("bottom")
        ar = self.bar_plot.mapTo(self, self.bar_plot.mapFromScene(axis.sceneBoundingRect()).boundingRect().topLeft())
        for ch, (_, text, px) in enumerate(self._tick_names()):
            fm = _metrics(px)
            lines = text.split("\n")
            w, hh = max(fm.horizontalAdvance(line) for line in lines), fm.height() * len(lines)
            cx = self.bar_point(ch, 0).x()
            off = axis.style["tickTextOffset"][1] + max(0, axis.style["tickLength"])
            out.append((f"channel name {text!r}", QtCore.QRectF(cx - w / 2, ar.y() + off, w, hh), text, text))
        return out

    # ------------------------------------------------------------------ keys
    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        key = event.key()
        k = QtCore.Qt.Key
        if key == k.Key_Space:
            self.paused = not self.paused
            self.set_status("PAUSED: space to continue" if self.paused else "", "warning")
            self.pause_toggled.emit(self.paused)
        elif key == k.Key_M:
            self.mark_requested.emit()
        elif key == k.Key_Escape:
            self.stop_requested.emit()
        elif key == k.Key_R:
            self.resume_requested.emit()
        elif key in (k.Key_Up, k.Key_Plus):
            self.band_shift_requested.emit(BAND_SHIFT_PCT)
        elif key in (k.Key_Down, k.Key_Minus):
            self.band_shift_requested.emit(-BAND_SHIFT_PCT)
        elif key == k.Key_F11:
            self.present(not self.isFullScreen())
        elif key == k.Key_T:
            self.strip.setVisible(not self.strip.isVisible())
        elif k.Key_0 <= key <= k.Key_9 and len(self._entry) < 3:
            self._entry += chr(ord("0") + (key - k.Key_0))
            self.set_status(f"estimate: {self._entry} %  (Enter to give it)", "info")
        elif key == k.Key_Backspace and self._entry:
            self._entry = self._entry[:-1]
            self.set_status(f"estimate: {self._entry} %  (Enter to give it)" if self._entry else "", "info")
        elif key in (k.Key_Return, k.Key_Enter) and self._entry:
            value = float(self._entry)
            self._entry = ""
            self.set_status(f"estimate given: {value:.0f} %", "info")
            self.estimate_entered.emit(value)
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop_requested.emit()
        super().closeEvent(event)


def format_summary(summary: dict[str, Any]) -> str:
    """One short paragraph for the end screen from a session summary dict."""
    lines = []
    head = summary_headline(
        summary.get("reps_attempted"),
        summary.get("reps_succeeded"),
        summary.get("reps_planned"),
        bool(summary.get("stopped_early")),
    )
    if head:
        lines.append(head)
    reps = summary.get("reps") or []

    def _mean(key: str) -> float | None:
        vals = [r.get(key) for r in reps if isinstance(r, dict) and isinstance(r.get(key), (int, float))]
        return float(np.mean(vals)) if vals else None

    for key, name, unit in (
        ("reaction_time_s", "reaction", "s"),
        ("time_to_band_s", "to band", "s"),
        ("time_in_band_s", "in band", "s"),
        ("time_to_relax_s", "to relax", "s"),
    ):
        v = _mean(key)
        if v is not None:
            lines.append(f"mean {name} {v:.2f} {unit}")
    lat = summary.get("latency_ms") or {}
    if lat.get("p95") is not None:
        lines.append(f"latency p50 {lat.get('p50', float('nan')):.0f} ms, p95 {lat['p95']:.0f} ms")
    if summary.get("board_lost"):
        lines.append("board lost during the session (recording kept)")
    return "   \u2022   ".join(lines)


def display_available() -> bool:
    """True when a window can be shown: a DISPLAY or WAYLAND_DISPLAY and no offscreen platform forced."""
    import os

    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def ensure_app(headless: bool) -> QtWidgets.QApplication:
    """The QApplication (created once); ``headless`` renders offscreen (no window system needed)."""
    import os

    app = QtWidgets.QApplication.instance()
    if app is None:
        if headless:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        QtCore.qInstallMessageHandler(_qt_message)
        app = QtWidgets.QApplication(["emg"])
    return app


#: Qt messages that say nothing to a user (the offscreen platform cannot resize windows to hints)
_QUIET_QT = ("does not support propagateSizeHints", "does not support raise()", "does not support activateWindow")


def _qt_message(mode: QtCore.QtMsgType, context: QtCore.QMessageLogContext, message: str) -> None:
    if any(q in message for q in _QUIET_QT):
        return
    level = {
        QtCore.QtMsgType.QtDebugMsg: logging.DEBUG,
        QtCore.QtMsgType.QtInfoMsg: logging.INFO,
        QtCore.QtMsgType.QtWarningMsg: logging.WARNING,
    }.get(mode, logging.ERROR)
    logging.getLogger("qt").log(level, "%s", message)


def process_events() -> None:
    """Deliver pending window-system events (keys, close, resize) without blocking."""
    QtWidgets.QApplication.processEvents()
