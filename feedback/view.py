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
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from feedback.names import display_name
from feedback.view_app import display_available, ensure_app, process_events  # noqa: F401 - the view's face
from feedback.view_frame import ViewFrame, frame_from_state
from feedback.view_layout import (
    BAND_FILL,
    BAR_FILL,
    Slots,
    channel_slots,
    font_px,
    name_candidates,
    row_px,
    short_name,
    stroke_px,
    summary_headline,
    unit_px,
)
from feedback.view_widgets import (
    BAND_ALPHA,
    BAND_SHIFT_PCT,
    CEILING_ZONE_ALPHA,
    COLOURS,
    CURVE_POINT_BUDGET,
    LOOKAHEAD_ALPHA,
    MAX_CURVE_POINTS,
    OKABE_ITO,
    SUCCESS_FLASH_S,
    FitLabel,
    PlotTexts,
    Rects,
    SwayGauge,
    TextSpec,
    TherapistStrip,
    font_metrics,
    over_background,
    pixel_font,
    text_advance,
)

log = logging.getLogger(__name__)

#: Okabe & Ito (2008) colour-blind-safe palette.


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
        while px > 7 and text_advance(px, str(self.n_channels)) > narrowest:
            px -= 1
        fm = font_metrics(px)
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
                    top_reserve_px=(font_metrics(word_px).height() + 2) if (is_focus and word) else 0.0,
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
            fm = font_metrics(px)
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
            fm = font_metrics(px)
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
