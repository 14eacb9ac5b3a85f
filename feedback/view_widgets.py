"""The view's parts: the colour table (Okabe-Ito, every meaning also written), cached fonts and text
measures, and the widgets and plot items the patient display is built from (painted rectangles, plot texts,
labels that fit their box, the sway gauge, the therapist strip). Sizes in pixels come from the window height
(:mod:`feedback.view_layout`); nothing here knows which drill runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from feedback.view_layout import (
    Box,
    clamp_box,
    place_labels,
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


def cached_font(px: int, bold: bool = True) -> QtGui.QFont:
    key = (px, bold)
    if key not in _FONT_CACHE:
        _FONT_CACHE[key] = pixel_font(px, bold)
        _METRICS_CACHE[key] = QtGui.QFontMetricsF(_FONT_CACHE[key])
    return _FONT_CACHE[key]


def font_metrics(px: int) -> QtGui.QFontMetricsF:
    cached_font(px)
    return _METRICS_CACHE[(px, True)]


_ADVANCE_CACHE: dict[tuple[int, str], float] = {}
_STATIC_CACHE: dict[tuple[int, str], QtGui.QStaticText] = {}
_COLOUR_CACHE: dict[str, QtGui.QColor] = {}


def text_advance(px: int, text: str) -> float:
    """Width in pixels of ``text`` in the bold font ``px`` high (cached: bar labels repeat a few hundred texts)."""
    key = (px, text)
    w = _ADVANCE_CACHE.get(key)
    if w is None:
        if len(_ADVANCE_CACHE) > 8192:
            _ADVANCE_CACHE.clear()
        w = _ADVANCE_CACHE[key] = font_metrics(px).horizontalAdvance(text)
    return w


def static_text(px: int, text: str) -> QtGui.QStaticText:
    """A laid-out text to paint many times (``drawStaticText`` skips the per-paint text layout)."""
    key = (px, text)
    st = _STATIC_CACHE.get(key)
    if st is None:
        if len(_STATIC_CACHE) > 4096:
            _STATIC_CACHE.clear()
        st = _STATIC_CACHE[key] = QtGui.QStaticText(text)
        st.setPerformanceHint(QtGui.QStaticText.PerformanceHint.AggressiveCaching)
        st.prepare(QtGui.QTransform(), cached_font(px))
    return st


def cached_colour(name: str) -> QtGui.QColor:
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
            fh = font_metrics(px).height()
            pad = 0.25 * fh if boxed else 0.0
            w = text_advance(px, s.text) + 2 * pad + (0.9 * fh if s.swatch else 0.0)
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
        background = cached_colour(COLOURS["background"])
        for spec, ((x, y, w, h), px) in zip(self.specs, placed, strict=True):
            fh = font_metrics(px).height()
            left = x
            if spec.box_background or spec.swatch:
                painter.fillRect(QtCore.QRectF(x, y, w, h), background)
                left += 0.25 * fh
            if spec.swatch:
                sq = 0.7 * fh
                painter.fillRect(QtCore.QRectF(left, y + (h - sq) / 2, sq, sq), cached_colour(spec.swatch))
                left += 0.9 * fh
            painter.setFont(cached_font(px))
            at, text = QtCore.QPointF(left, y + (h - fh) / 2), static_text(px, spec.text)
            if spec.halo:
                painter.setPen(background)
                d = max(1.0, px / 14)
                for ox, oy in ((-d, 0), (d, 0), (0, -d), (0, d)):
                    painter.drawStaticText(at + QtCore.QPointF(ox, oy), text)
            painter.setPen(cached_colour(spec.colour))
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
        fm = font_metrics(self._px)
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
        fm = font_metrics(self._px)
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
        p.setFont(cached_font(self._px))
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
            small = cached_font(max(7, int(self._px * 0.7)))
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
