"""Every shipped drill on the real view (offscreen Qt) at 1024x600, 1280x720 and 1920x1080.

The drills run their real logic with a simulated patient (:func:`feedback.view_moments.drill_moments`): mid-rep,
the success, a failed rep and an early stop. At each moment: no text is cut or elided, no two texts overlap,
nothing lies outside the window or its plot; what the drill scores (band, ceiling, rest line, tracking path,
sway gauge) is drawn where it should be; the cue and the message say what happened.
"""

from __future__ import annotations

import functools
import itertools

import pytest

pytest.importorskip("PySide6")
from PySide6 import QtCore, QtGui, QtWidgets

from feedback.drills import shipped_drills
from feedback.view import BAND_ALPHA, CEILING_ZONE_ALPHA, COLOURS, FeedbackView, FitLabel, over_background
from feedback.view_frame import cue_with_countdown
from feedback.view_moments import Moment, drill_moments

CHANNELS = ["vastus_medialis", "biceps_femoris", "upper_trapezius", "gastrocnemius"]
FS_HZ = 100.0
SIZES = [(1024, 600), (1280, 720), (1920, 1080)]
DRILLS = [p.stem for p in shipped_drills()]  # the folder at run time (new drills are checked too)


@functools.cache
def moments(drill: str) -> tuple[Moment, ...]:
    return tuple(drill_moments(drill, CHANNELS, fs_hz=FS_HZ))


def _rgb(img: QtGui.QImage, p: QtCore.QPoint) -> tuple[int, int, int]:
    c = QtGui.QColor(img.pixel(p.x(), p.y()))
    return c.red(), c.green(), c.blue()


def _hex(colour: str | QtGui.QColor) -> tuple[int, int, int]:
    c = QtGui.QColor(colour)
    return c.red(), c.green(), c.blue()


def _close(a, b, tol: int = 8) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))


def _near(img, centre: QtCore.QPoint, colour, radius: int = 3) -> bool:
    """Any pixel of ``colour`` within ``radius`` pixels of ``centre``."""
    want = _hex(colour)
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            p = QtCore.QPoint(centre.x() + dx, centre.y() + dy)
            if 0 <= p.x() < img.width() and 0 <= p.y() < img.height() and _close(_rgb(img, p), want):
                return True
    return False


def _screen(view: FeedbackView) -> QtGui.QImage:
    """What the window shows: the plots as paint_now painted them, the labels after their event-loop repaint."""
    QtWidgets.QApplication.processEvents()
    return QtGui.QGuiApplication.primaryScreen().grabWindow(view.winId()).toImage()


def _plot_rect(view: FeedbackView, pw) -> QtCore.QRectF:
    vb = pw.getPlotItem().vb
    r = pw.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    return QtCore.QRectF(QtCore.QRectF(r).translated(QtCore.QPointF(pw.mapTo(view, QtCore.QPoint(0, 0)))))


def check_texts(view: FeedbackView, where: str) -> None:
    window = QtCore.QRectF(view.rect()).adjusted(-0.5, -0.5, 0.5, 0.5)
    plots = [_plot_rect(view, pw).adjusted(-1, -1, 1, 1) for pw in (view.bar_plot, view.env_plot)]
    boxes = view.text_boxes()
    assert any(name == "cue" for name, *_ in boxes), f"{where}: no cue text"
    for name, box, full, shown in boxes:
        assert shown == full, f"{where}: {name} elided to {shown!r}"
        assert window.contains(box), f"{where}: {name} {box} outside the window"
        if name.startswith("plot text"):
            assert any(p.contains(box) for p in plots), f"{where}: {name} {box} outside its plot"
    for lab in view.findChildren(FitLabel):
        if lab.isVisible() and lab.text():
            r, inner = QtCore.QRectF(lab.rect()).adjusted(-1, -1, 1, 1), lab.text_box()
            assert r.contains(inner), f"{where}: {lab.text()!r} ({inner}) cut by its label ({lab.rect()})"
    for (na, a, *_), (nb, b, *_) in itertools.combinations(boxes, 2):
        inter = a.intersected(b)
        assert inter.width() < 1 or inter.height() < 1, f"{where}: {na} {a} overlaps {nb} {b}"


def check_scored(view: FeedbackView, img: QtGui.QImage, m: Moment, where: str) -> None:
    st = m.state
    band_colour = over_background(COLOURS["band"], BAND_ALPHA)
    if st.hidden:
        ch = st.channel
        col = view.bar_point(ch, 0).x()
        for key in ("level_below", "level_in_band", "level_above"):
            assert not any(
                _close(_rgb(img, QtCore.QPoint(col, y)), _hex(COLOURS[key]), 2)
                for y in range(view.bar_point(ch, 100).y(), view.bar_point(ch, 0).y())
            ), f"{where}: a hidden level is drawn"
    for ch, (lo, hi) in st.bands_pct.items():
        x = view.bar_point(ch + 0.42, 0).x()
        rows = range(view.bar_point(ch, hi).y() + 2, view.bar_point(ch, lo).y() - 1)
        hits = sum(_close(_rgb(img, QtCore.QPoint(x, y)), _hex(band_colour)) for y in rows)
        assert hits >= 0.4 * len(rows), f"{where}: band {lo}-{hi} of channel {ch} not drawn ({hits}/{len(rows)})"
        assert not _close(_rgb(img, QtCore.QPoint(x, view.bar_point(ch, hi).y() - 6)), _hex(band_colour))
    if st.channel in st.bands_pct:
        lo, hi = st.bands_pct[st.channel]
        xs = [-7.5 + 0.5 * i for i in range(12)]
        hits = sum(_close(_rgb(img, view.env_point(t, (lo + hi) / 2)), _hex(band_colour)) for t in xs)
        assert hits >= 6, f"{where}: band not shaded on the trace"
    for ch, ceiling in st.ceilings_pct.items():
        assert _near(img, view.bar_point(ch + 0.42, ceiling), COLOURS["ceiling"]), f"{where}: ceiling {ceiling} missing"
        zone = over_background(COLOURS["ceiling"], CEILING_ZONE_ALPHA)
        mid = (ceiling + 100.0) / 2
        assert _near(img, view.bar_point(ch + 0.42, mid), zone, 4), f"{where}: no 'stay below' zone over {ceiling}"
        assert _near(img, view.env_point(-4.0, ceiling), COLOURS["ceiling"]), f"{where}: ceiling missing on the trace"
    for ch, lines in st.thresholds_pct.items():
        for y in lines:
            centre = view.bar_point(ch, y)
            half = abs(view.bar_point(ch + 0.4, y).x() - centre.x())
            found = any(
                _near(img, QtCore.QPoint(centre.x() + dx, centre.y()), COLOURS["threshold"], 2)
                for dx in range(-half, half + 1, 3)
            )
            assert found, f"{where}: rest line {y} of channel {ch} not drawn"
    if st.target_path_pct is not None and not st.hidden:
        times, values = st.target_path_pct
        ahead = [(t, v) for t, v in zip(times, values, strict=True) if 0.2 < t < 2.8]
        behind = [(t, v) for t, v in zip(times, values, strict=True) if -7.5 < t < -0.2]
        assert ahead or behind, f"{where}: the path has no points in view"
        pts = ahead[::3] or behind[::5]
        hits = sum(_near(img, view.env_point(t, v), COLOURS["target_path"], 4) for t, v in pts)
        assert hits >= 0.7 * len(pts), f"{where}: tracking path not drawn ({hits}/{len(pts)})"
        if ahead:  # the look-ahead is to the right of now, inside the plot
            assert view.env_point(max(t for t, _ in ahead), 0).x() < _plot_rect(view, view.env_plot).right()
    if st.sway_deg2 is not None or st.sway_limit_deg2 is not None:
        assert view.sway_gauge.isVisible(), f"{where}: no sway gauge"
        if st.sway_deg2 is not None:
            over = st.sway_limit_deg2 is not None and st.sway_deg2 > st.sway_limit_deg2
            full = view.sway_gauge.scale_max()
            fill = COLOURS["gauge_over" if over else "gauge_ok"]
            assert _near(img, view.gauge_point(min(st.sway_deg2, full) * 0.5), fill, 2), f"{where}: sway fill"
            if st.sway_deg2 < 0.8 * full:
                beyond = view.gauge_point(st.sway_deg2 + 0.1 * full)
                assert _close(_rgb(img, beyond), _hex(COLOURS["gauge_track"])), f"{where}: gauge filled too far"
        texts = " ".join(t for n, _, t, _ in view.text_boxes() if n.startswith("gauge"))
        if st.sway_limit_deg2 is not None:
            assert f"of {st.sway_limit_deg2:.0f} deg" in texts
    for ch, marker in st.target_marker_pct.items():
        assert _near(img, view.bar_point(ch + 0.42, marker), COLOURS["target_marker"]), f"{where}: marker missing"


def check_moment(view: FeedbackView, img: QtGui.QImage, m: Moment, where: str) -> None:
    st = m.state
    cue = view.cue_label.text()
    if m.name == "stopped":
        assert cue == "STOPPED", where
        assert view.message_label.text().startswith(f"Stopped after {st.attempted} of {st.reps_planned} reps"), where
    elif st.failure:
        assert cue == "TRY AGAIN", where
        assert _close(_rgb(img, view.cue_label.mapTo(view, QtCore.QPoint(8, 8))), _hex(COLOURS["missed"]), 3)
        if st.failure_reason:
            assert view.message_label.text() == st.failure_reason, where
    elif st.success:
        assert cue == "\u2713 GOOD", where
    else:
        assert cue == cue_with_countdown(st.cue.upper(), st.countdown_s), where


def test_every_shipped_drill_is_checked():
    assert len(DRILLS) >= 10 and "reach_hold_quadriceps" in DRILLS


@pytest.mark.parametrize("drill", DRILLS)
def test_drill_reaches_its_key_moments(drill):
    names = [m.name for m in moments(drill)]
    assert {"working", "success", "stopped"} <= set(names), names
    assert "failed" in names or drill == "stretch_hamstrings" or len(names) == 4, names


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("drill", DRILLS)
def test_drill_screens(qtbot, drill, size):
    view = FeedbackView(CHANNELS, FS_HZ)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.set_latency(18.0, 27.0)
    view.set_channel_quality(["ok", "noisy", "ok", "ok"])
    assert (view.width(), view.height()) == size
    for m in moments(drill):
        where = f"{drill} {m.name} at {size[0]}x{size[1]}"
        view.push(m.activation_pct)
        view.set_frame(m.state)
        view.paint_now()
        img = _screen(view)
        assert (view.width(), view.height()) == size, f"{where}: the window resized itself"
        check_texts(view, where)
        check_scored(view, img, m, where)
        check_moment(view, img, m, where)


@pytest.mark.parametrize("drill", ["isolation_vmo_vs_hamstrings", "tracking_trapezoid", "balance_single_leg"])
def test_drill_screen_at_4k(qtbot, drill):
    """At 3840x2160 the same screen, scaled: texts grow with the window and still fit."""
    view = FeedbackView(CHANNELS, FS_HZ)
    qtbot.addWidget(view)
    view.resize(3840, 2160)
    view.show()
    qtbot.waitExposed(view)
    small = FeedbackView(CHANNELS, FS_HZ)
    qtbot.addWidget(small)
    small.resize(1280, 720)
    small.show()
    qtbot.waitExposed(small)
    for m in moments(drill):
        where = f"{drill} {m.name} at 3840x2160"
        for v in (view, small):
            v.push(m.activation_pct)
            v.set_frame(m.state)
            v.paint_now()
        img = _screen(view)
        check_texts(view, where)
        check_scored(view, img, m, where)
        # 3x the window height: 3x the type (within rounding)
        big_h, small_h = view.cue_label.text_box().height(), small.cue_label.text_box().height()
        assert 2.6 < big_h / small_h < 3.4, where
