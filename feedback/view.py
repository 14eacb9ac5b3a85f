"""The live biofeedback view: pyqtgraph on PySide6.

One large bar per channel (current activation, % of reference) with the target band behind it and
threshold lines across it; a scrolling envelope of the last seconds with the same lines; the cue
(CONTRACT / HOLD 3-2-1 / RELAX) in very large type; rep / set / success counters; a clear success
signal; a status line (paused, board lost, artefact); the end-of-session summary.

It only draws what it is given: activation samples via :meth:`FeedbackView.push` and the drill's
state via :meth:`FeedbackView.set_frame`. :meth:`FeedbackView.paint_now` paints synchronously and
returns the wall-clock time the frame was painted (used for the sample-to-screen latency).

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies),
and every colour meaning is also written out (IN BAND, RELAX, GOOD). Keys: space pauses, M marks,
Esc stops, R resumes after a lost board (or calibrates again after a refusal), digits then Enter
give an estimate in % (awareness trials).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from feedback.view_frame import ViewFrame, frame_from_state
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
    "band": OKABE_ITO["orange"],
    "threshold": OKABE_ITO["yellow"],
    "target_marker": OKABE_ITO["reddish_purple"],
    "success": OKABE_ITO["bluish_green"],
    "warning": OKABE_ITO["vermillion"],
    "missed": OKABE_ITO["orange"],
    "text": "#FFFFFF",
}
BAND_ALPHA = 120
CHANNEL_CURVE_COLOURS = [
    OKABE_ITO[k]
    for k in ("sky_blue", "orange", "bluish_green", "yellow", "reddish_purple", "vermillion", "blue", "grey")
]
BAR_WIDTH = 0.5  # in channel units
BAND_WIDTH = 0.9
SUCCESS_FLASH_S = 0.8
MAX_CURVE_POINTS = 500  # per envelope curve; the envelope is smooth (<= ~10 Hz), 8 s x 60 points/s is plenty
CURVE_POINT_BUDGET = 2400  # over all visible curves (thick-line raster drawing dominates the frame cost)


class _Rects(pg.GraphicsObject):
    """Filled rectangles in data coordinates, painted directly (pyqtgraph's BarGraphItem replays a
    QPicture per paint, which cost ~2.5 ms per item per frame here)."""

    def __init__(self, colour: QtGui.QColor) -> None:
        super().__init__()
        self._brush = QtGui.QBrush(colour)
        self._rects: list[QtCore.QRectF] = []
        self._bounds = QtCore.QRectF()

    def set_rects(self, x0: np.ndarray, y0: np.ndarray, width: float, height: np.ndarray) -> None:
        """One rectangle per entry: left edge ``x0``, bottom ``y0``, ``width``, ``height`` (<= 0 skipped)."""
        rects = [
            QtCore.QRectF(float(x), float(y), float(width), float(h))
            for x, y, h in zip(x0, y0, height, strict=False)
            if h > 0
        ]
        bounds = QtCore.QRectF()
        for r in rects:
            bounds = bounds.united(r)
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self._rects = rects
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(self._bounds)

    def paint(self, painter: QtGui.QPainter, *args: Any) -> None:
        for r in self._rects:
            painter.fillRect(r, self._brush)


def _over_background(colour: str, alpha: int) -> QtGui.QColor:
    """``colour`` at ``alpha`` (0-255) composited over the background, as an opaque colour."""
    fg, bg = QtGui.QColor(colour), QtGui.QColor(COLOURS["background"])
    a = alpha / 255.0
    return QtGui.QColor(
        *(
            int(round(f * a + b * (1 - a)))
            for f, b in ((fg.red(), bg.red()), (fg.green(), bg.green()), (fg.blue(), bg.blue()))
        )
    )


def _label(point_size: int, bold: bool = True) -> QtWidgets.QLabel:
    lab = QtWidgets.QLabel("")
    font = QtGui.QFont()
    font.setPointSize(point_size)
    font.setBold(bold)
    lab.setFont(font)
    lab.setStyleSheet(f"color: {COLOURS['text']};")
    return lab


class FeedbackView(QtWidgets.QWidget):
    """The patient's screen for one session (channels x samples of activation in % of reference)."""

    pause_toggled = QtCore.Signal(bool)
    mark_requested = QtCore.Signal()
    stop_requested = QtCore.Signal()
    resume_requested = QtCore.Signal()
    estimate_entered = QtCore.Signal(float)  # awareness trials: digits then Enter, in %

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

        self.setWindowTitle("EMG biofeedback")
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(COLOURS["background"]))
        self.setPalette(pal)
        self._status_kind = ""
        self.resize(1280, 720)
        self._build()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        pg.setConfigOptions(antialias=False, background=COLOURS["background"], foreground="w")
        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(12, 8, 12, 8)
        root.setSpacing(6)

        top = QtWidgets.QHBoxLayout()
        self.title_label = _label(20)
        self.counter_label = _label(30)
        self.counter_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.title_label, 1)
        top.addWidget(self.counter_label, 1)
        root.addLayout(top)

        self.cue_label = _label(60)
        self.cue_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.cue_label.setMinimumHeight(110)
        self.cue_label.setAutoFillBackground(True)
        root.addWidget(self.cue_label)

        plots = QtWidgets.QHBoxLayout()
        self.bar_plot = pg.PlotWidget()
        self.env_plot = pg.PlotWidget()
        for pw in (self.bar_plot, self.env_plot):
            pw.setMenuEnabled(False)
            pw.setViewportUpdateMode(QtWidgets.QGraphicsView.ViewportUpdateMode.NoViewportUpdate)
            pw.setMouseEnabled(x=False, y=False)
            pw.hideButtons()
            pw.setYRange(0, self.max_pct, padding=0)
            # no pyqtgraph grid: its axis replays a QPicture of every grid line (~2 ms a frame)
            axis_font = QtGui.QFont()
            axis_font.setPointSize(14)
            for name in ("left", "bottom"):
                pw.getPlotItem().getAxis(name).setTickFont(axis_font)
            pw.setLabel("left", "activation (% of reference)")
        plots.addWidget(self.bar_plot, 2)
        plots.addWidget(self.env_plot, 3)
        root.addLayout(plots, 1)

        # --- bars
        bp = self.bar_plot.getPlotItem()
        bp.setXRange(-0.6, self.n_channels - 0.4, padding=0)
        names = self.channel_names if self.n_channels <= 8 else [str(i + 1) for i in range(self.n_channels)]
        bp.getAxis("bottom").setTicks([[(i, n) for i, n in enumerate(names)]])
        # the band is drawn behind everything on the plain background: an opaque colour equal to orange at
        # BAND_ALPHA over the background looks the same and avoids alpha blending (~0.6 ms a frame)
        band_rgba = _over_background(COLOURS["band"], BAND_ALPHA)
        self._band_item = _Rects(band_rgba)
        self._band_item.setZValue(0)
        bp.addItem(self._band_item)
        self._bar_items = {}
        for key in ("level_below", "level_in_band", "level_above"):
            item = _Rects(QtGui.QColor(COLOURS[key]))
            item.setZValue(5)
            bp.addItem(item)
            self._bar_items[key] = item
        # PlotCurveItem, never PlotDataItem: with PySide6 6.12 PlotDataItem.setData corrupts the refcount
        # of True/False through QObject.property() and the interpreter aborts after a few hundred frames.
        self._bar_thr = pg.PlotCurveItem(pen=pg.mkPen(COLOURS["threshold"], width=4), connect="pairs")
        self._bar_thr.setZValue(10)
        bp.addItem(self._bar_thr)
        self._bar_marker = pg.PlotCurveItem(pen=pg.mkPen(COLOURS["target_marker"], width=6), connect="pairs")
        self._bar_marker.setZValue(11)
        bp.addItem(self._bar_marker)
        self._level_text = pg.TextItem("", color=COLOURS["text"], anchor=(0.5, 1.0))
        tfont = QtGui.QFont()
        tfont.setPointSize(22)
        tfont.setBold(True)
        self._level_text.setFont(tfont)
        self._level_text.setZValue(12)
        bp.addItem(self._level_text)

        # --- scrolling envelope
        ep = self.env_plot.getPlotItem()
        ep.setXRange(-self.history_s, 0, padding=0)
        ep.setLabel("bottom", "time", units="s")
        self._env_band = pg.LinearRegionItem(
            values=(0, 0), orientation="horizontal", movable=False, brush=band_rgba, pen=pg.mkPen(None)
        )
        self._env_band.setZValue(-10)
        self._env_band.setVisible(False)
        ep.addItem(self._env_band)
        self._env_thr_lines: list[pg.InfiniteLine] = []
        self._curves = []
        for ch in range(self.n_channels):
            curve = pg.PlotCurveItem(
                pen=pg.mkPen(CHANNEL_CURVE_COLOURS[ch % len(CHANNEL_CURVE_COLOURS)], width=2), skipFiniteCheck=True
            )
            ep.addItem(curve)
            self._curves.append(curve)
        self._env_marker = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(COLOURS["target_marker"], width=4))
        self._env_marker.setVisible(False)
        ep.addItem(self._env_marker)

        bottom = QtWidgets.QHBoxLayout()
        self.message_label = _label(22)
        self.message_label.setWordWrap(True)
        self.status_label = _label(22)
        self.status_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.status_label.setAutoFillBackground(True)
        bottom.addWidget(self.message_label, 3)
        bottom.addWidget(self.status_label, 2)
        root.addLayout(bottom)

        self.summary_label = _label(20, bold=False)
        self.summary_label.setWordWrap(True)
        self.summary_label.setVisible(False)
        root.addWidget(self.summary_label)
        self._set_cue_background(None)
        self.set_status("")

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
        """Show the drill's state (a ``feedback.state`` object, a dict, or a :class:`ViewFrame`)."""
        frame = frame_from_state(state)
        if frame.success and not self._last_success_seen:
            self._success_until = time.monotonic() + SUCCESS_FLASH_S
        if frame.failure and not self._last_failure_seen:
            self._failure_until = time.monotonic() + SUCCESS_FLASH_S
        self._last_success_seen = frame.success
        self._last_failure_seen = frame.failure
        self._frame = frame
        self._dirty = True

    def set_latency(self, p50_ms: float | None, p95_ms: float | None) -> None:
        """Show the recent sample-to-screen latency beside the title (None hides it)."""
        self._latency_text = (
            "" if p50_ms is None or p95_ms is None else f"latency {p50_ms:.0f} ms (p95 {p95_ms:.0f} ms)"
        )

    def set_scale_label(self, text: str) -> None:
        """What the vertical axes measure, e.g. ``"activation (% of reference)"``."""
        if text != getattr(self, "_scale_label", None):
            self._scale_label = text
            for pw in (self.bar_plot, self.env_plot):
                pw.setLabel("left", text)

    def set_status(self, text: str = "", kind: str = "info") -> None:
        """Status line: ``kind`` is ``"info"``, ``"warning"`` (paused, artefact) or ``"error"`` (board lost)."""
        kind = kind if text else ""
        if text == self.status_label.text() and kind == self._status_kind and getattr(self, "_status_set", False):
            return
        self._status_set = True
        self.status_label.setText(text)
        self._status_kind = kind
        colour = {"warning": OKABE_ITO["orange"], "error": COLOURS["warning"]}.get(self._status_kind)
        pal = self.status_label.palette()
        pal.setColor(
            QtGui.QPalette.ColorRole.Window, QtGui.QColor(colour) if colour else QtGui.QColor(COLOURS["background"])
        )
        pal.setColor(
            QtGui.QPalette.ColorRole.WindowText, QtGui.QColor("#000000") if colour else QtGui.QColor(COLOURS["text"])
        )
        self.status_label.setPalette(pal)
        self.status_label.setStyleSheet("")

    def show_summary(self, summary: dict[str, Any]) -> None:
        """Show the end-of-session summary (reps attempted/succeeded, per-rep means, latency)."""
        self.summary_label.setText(format_summary(summary))
        self.summary_label.setVisible(True)
        self._frame.finished = True
        self._dirty = True

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Update every plot item and label from the latest samples and state (no painting)."""
        f = self._frame
        now = time.monotonic()
        flashing = now < self._success_until
        # counters
        parts = []
        if f.reps_total:
            parts.append(f"Rep {min(f.rep, f.reps_total)}/{f.reps_total}")
        if f.sets_total > 1:
            parts.append(f"Set {f.set_index}/{f.sets_total}")
        if f.reps_total or f.successes:
            parts.append(f"\u2713 {f.successes}")
        self.counter_label.setText("   ".join(parts))
        self.title_label.setText(f.title + (f"   \u00b7   {self._latency_text}" if self._latency_text else ""))
        # cue
        if flashing:
            self.cue_label.setText("\u2713 GOOD")
            self._set_cue_background(COLOURS["success"])
        elif now < self._failure_until:
            self.cue_label.setText("TRY AGAIN")
            self._set_cue_background(COLOURS["missed"])
        else:
            self.cue_label.setText(f.cue_text() if not f.finished or f.cue else "DONE")
            self._set_cue_background(None)
        self.message_label.setText(
            ("Display hidden: aim, then give your estimate.  " if f.hidden else "") + (f.message or "")
        )
        self._set_message_colour(OKABE_ITO["orange"] if f.gating else COLOURS["text"])

        # bars
        lv = np.clip(self._levels, 0.0, self.max_pct)
        below = np.zeros(self.n_channels)
        inband = np.zeros(self.n_channels)
        above = np.zeros(self.n_channels)
        y0 = np.zeros(self.n_channels)
        bh = np.zeros(self.n_channels)
        for ch in range(self.n_channels):
            band = f.bands_pct.get(ch)
            if band is None:
                below[ch] = lv[ch]
                continue
            lo, hi = band
            y0[ch], bh[ch] = lo, hi - lo
            if lv[ch] > hi:
                above[ch] = lv[ch]
            elif lv[ch] >= lo:
                inband[ch] = lv[ch]
            else:
                below[ch] = lv[ch]
        if f.hidden:
            below[:] = inband[:] = above[:] = 0.0
        x_bar = np.arange(self.n_channels) - BAR_WIDTH / 2
        zeros = np.zeros(self.n_channels)
        self._bar_items["level_below"].set_rects(x_bar, zeros, BAR_WIDTH, below)
        self._bar_items["level_in_band"].set_rects(x_bar, zeros, BAR_WIDTH, inband)
        self._bar_items["level_above"].set_rects(x_bar, zeros, BAR_WIDTH, above)
        self._band_item.set_rects(np.arange(self.n_channels) - BAND_WIDTH / 2, y0, BAND_WIDTH, bh)
        xs, ys = [], []
        for ch, lines in f.thresholds_pct.items():
            for y in lines:
                xs += [ch - BAND_WIDTH / 2, ch + BAND_WIDTH / 2]
                ys += [y, y]
        self._bar_thr.setData(np.array(xs, float), np.array(ys, float))
        mx, my = [], []
        for ch, y in f.target_marker_pct.items():
            mx += [ch - BAND_WIDTH / 2, ch + BAND_WIDTH / 2]
            my += [y, y]
        self._bar_marker.setData(np.array(mx, float), np.array(my, float))
        focus = f.channel if f.channel is not None and 0 <= f.channel < self.n_channels else None
        if focus is not None and not f.hidden:
            self._level_text.setText(f"{max(self._levels[focus], 0.0):.0f} %")  # below the rest floor reads 0
            self._level_text.setPos(
                focus + 0.5 if focus == 0 else focus, min(self.max_pct - 12, max(lv[focus], 0.0)) + 2
            )
        else:
            self._level_text.setText("")

        # scrolling envelope
        involved = set(f.bands_pct) | set(f.thresholds_pct) | set(f.target_marker_pct)
        if focus is not None:
            involved.add(focus)
        n = self._hist_filled
        n_visible = self.n_channels if (f.hidden or not involved) else len(involved)
        max_points = int(np.clip(CURVE_POINT_BUDGET / max(1, n_visible), 150, MAX_CURVE_POINTS))
        # at most max_points per curve, striding back from the newest sample so it is always drawn
        step = max(1, int(np.ceil(n / max_points))) if n else 1
        idx = np.arange(self._hist.shape[1] - 1, self._hist.shape[1] - 1 - n, -step)[::-1] if n else np.arange(0)
        x = self._hist_x[idx]
        for ch, curve in enumerate(self._curves):
            # the drill's channels only (all of them when the drill names none): readable, and cheap to draw
            visible = not f.hidden and (not involved or ch in involved)
            curve.setVisible(visible)
            if visible:
                curve.setData(x, self._hist[ch, idx])
        band = f.bands_pct.get(focus) if focus is not None else None
        if band is None and f.bands_pct:
            band = next(iter(f.bands_pct.values()))
        self._env_band.setVisible(band is not None)
        if band is not None:
            self._env_band.setRegion(band)
        thr_values = [y for ch in sorted(f.thresholds_pct) for y in f.thresholds_pct[ch]]
        while len(self._env_thr_lines) < len(thr_values):
            line = pg.InfiniteLine(
                angle=0, movable=False, pen=pg.mkPen(COLOURS["threshold"], width=3, style=QtCore.Qt.PenStyle.DashLine)
            )
            self.env_plot.getPlotItem().addItem(line)
            self._env_thr_lines.append(line)
        for i, line in enumerate(self._env_thr_lines):
            if i < len(thr_values):
                line.setValue(thr_values[i])
                line.setVisible(True)
            else:
                line.setVisible(False)
        marker = f.target_marker_pct.get(focus) if focus is not None else None
        self._env_marker.setVisible(marker is not None)
        if marker is not None:
            self._env_marker.setValue(marker)
        self._dirty = False

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
        """Where (channel, pct) of the bar chart lands, in this widget's pixel coordinates."""
        vb = self.bar_plot.getPlotItem().vb
        scene_pt = vb.mapViewToScene(QtCore.QPointF(float(channel), float(pct)))
        view_pt = self.bar_plot.mapFromScene(scene_pt)
        return self.bar_plot.mapTo(self, view_pt)

    def env_point(self, t_rel_s: float, pct: float) -> QtCore.QPoint:
        """Where (seconds before now, pct) of the envelope plot lands, in this widget's pixels."""
        vb = self.env_plot.getPlotItem().vb
        scene_pt = vb.mapViewToScene(QtCore.QPointF(float(t_rel_s), float(pct)))
        view_pt = self.env_plot.mapFromScene(scene_pt)
        return self.env_plot.mapTo(self, view_pt)

    # ------------------------------------------------------------------ keys
    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        key = event.key()
        if key == QtCore.Qt.Key.Key_Space:
            self.paused = not self.paused
            self.set_status("PAUSED: space to continue" if self.paused else "", "warning")
            self.pause_toggled.emit(self.paused)
        elif key == QtCore.Qt.Key.Key_M:
            self.mark_requested.emit()
        elif key == QtCore.Qt.Key.Key_Escape:
            self.stop_requested.emit()
        elif key == QtCore.Qt.Key.Key_R:
            self.resume_requested.emit()
        elif QtCore.Qt.Key.Key_0 <= key <= QtCore.Qt.Key.Key_9 and len(self._entry) < 3:
            self._entry += chr(ord("0") + (key - QtCore.Qt.Key.Key_0))
            self.set_status(f"estimate: {self._entry} %  (Enter to give it)", "info")
        elif key == QtCore.Qt.Key.Key_Backspace and self._entry:
            self._entry = self._entry[:-1]
            self.set_status(f"estimate: {self._entry} %  (Enter to give it)" if self._entry else "", "info")
        elif key in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter) and self._entry:
            value = float(self._entry)
            self._entry = ""
            self.set_status(f"estimate given: {value:.0f} %", "info")
            self.estimate_entered.emit(value)
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop_requested.emit()
        super().closeEvent(event)

    def _set_message_colour(self, colour: str) -> None:
        if getattr(self, "_message_colour", None) == colour:
            return
        self._message_colour = colour
        self.message_label.setStyleSheet(f"color: {colour};")

    def _set_cue_background(self, colour: str | None) -> None:
        if getattr(self, "_cue_bg", "unset") == colour:
            return  # a palette change repaints the label: only when it really changes
        self._cue_bg = colour
        pal = self.cue_label.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(colour or COLOURS["background"]))
        pal.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor("#000000" if colour else COLOURS["text"]))
        self.cue_label.setPalette(pal)
        self.cue_label.setStyleSheet("")


def format_summary(summary: dict[str, Any]) -> str:
    """One short paragraph for the end screen from a session summary dict."""
    lines = []
    att = summary.get("reps_attempted")
    suc = summary.get("reps_succeeded")
    if att is not None:
        lines.append(f"Reps: {suc if suc is not None else '?'} of {att} succeeded")
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
