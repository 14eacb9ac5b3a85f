"""The live view rendered offscreen by real Qt: pixel checks of bars, band, lines, cue and keys."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("PySide6")
from PySide6 import QtCore, QtGui

from feedback.view import BAND_ALPHA, COLOURS, FeedbackView, format_summary
from feedback.view_frame import ViewFrame, frame_from_state


@pytest.fixture
def view(qtbot):
    v = FeedbackView(["VL", "VM", "RF", "BF"], 250.0, history_s=4.0)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    return v


def _levels(view: FeedbackView, values: list[float]) -> None:
    view.push(np.array(values, dtype=float)[:, None] * np.ones((1, 5)))


def _window_image(view: FeedbackView) -> QtGui.QImage:
    """What the window's backing store holds: what paint_now really painted, not a fresh render."""
    return QtGui.QGuiApplication.primaryScreen().grabWindow(view.winId()).toImage()


def _rgb(img: QtGui.QImage, x: int, y: int) -> tuple[int, int, int]:
    c = QtGui.QColor(img.pixel(x, y))
    return c.red(), c.green(), c.blue()


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    c = QtGui.QColor(colour)
    return c.red(), c.green(), c.blue()


def _close(a: tuple[int, int, int], b: tuple[int, int, int], tol: int = 6) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=False))


def _bar_top(img: QtGui.QImage, view: FeedbackView, channel: int, colour: str) -> int | None:
    """Highest pixel row of the bar's colour in the bar's centre column, up to 100 % (above it the trained
    muscle's slot carries the word saying what the colour means, written in that colour)."""
    x = view.bar_point(channel, 0).x()
    y_top, y_bottom = view.bar_point(channel, 100.0).y(), view.bar_point(channel, 0).y()
    target = _hex_rgb(colour)
    rows = [y for y in range(y_top - 3, y_bottom + 1) if _close(_rgb(img, x, y), target, 2)]
    return min(rows) if rows else None


@pytest.mark.parametrize("level", [15.0, 50.0, 95.0])
def test_bar_height_follows_level(view, level):
    view.set_frame(ViewFrame(cue="contract"))
    _levels(view, [0.0, level, 0.0, 0.0])
    view.paint_now()
    img = _window_image(view)
    top = _bar_top(img, view, 1, COLOURS["level_below"])
    expected = view.bar_point(1, level).y()
    assert top is not None
    assert abs(top - expected) <= 2
    # and the bar's length in pixels is proportional to the level (independent of the mapping helper)
    zero = view.bar_point(1, 0).y()
    hundred = view.bar_point(1, 100).y()
    assert abs((zero - top) / (zero - hundred) * 100 - level) <= 100 * 3 / (zero - hundred)
    # an empty channel draws no bar
    assert _bar_top(img, view, 0, COLOURS["level_below"]) is None


def test_band_drawn_where_it_should_be(view):
    view.set_frame(ViewFrame(cue="contract", channel=0, bands_pct={0: (40.0, 60.0)}))
    _levels(view, [10.0, 0.0, 0.0, 0.0])
    view.paint_now()
    img = _window_image(view)
    x = view.bar_point(0.35, 0).x()  # inside the band's width, outside the bar's
    y40, y60 = view.bar_point(0, 40).y(), view.bar_point(0, 60).y()
    bg = _hex_rgb(COLOURS["background"])
    band_rgb = _hex_rgb(COLOURS["band"])
    a = BAND_ALPHA / 255.0
    blended = tuple(int(round(c * a + b * (1 - a))) for c, b in zip(band_rgb, bg, strict=False))
    inside = [_rgb(img, x, y) for y in range(y60 + 2, y40 - 1)]
    assert inside and all(_close(p, blended, 8) for p in inside)
    assert not _close(_rgb(img, x, y60 - 4), blended, 8)
    assert not _close(_rgb(img, x, y40 + 4), blended, 8)
    # no band on a channel without one
    assert not _close(_rgb(img, view.bar_point(2.35, 0).x(), (y40 + y60) // 2), blended, 8)
    # the envelope plot shades the same band
    ex = view.env_point(-1.0, 50).x()
    assert _close(_rgb(img, ex, view.env_point(-1.0, 50).y()), blended, 8) or _close(
        _rgb(img, ex + 7, view.env_point(-1.0, 50).y()), blended, 8
    )


@pytest.mark.parametrize("level,key", [(30.0, "level_below"), (50.0, "level_in_band"), (75.0, "level_above")])
def test_bar_colour_says_where_the_level_is(view, level, key):
    view.set_frame(ViewFrame(channel=0, bands_pct={0: (40.0, 60.0)}))
    _levels(view, [level, 0.0, 0.0, 0.0])
    view.paint_now()
    img = _window_image(view)
    top = _bar_top(img, view, 0, COLOURS[key])
    assert top is not None and abs(top - view.bar_point(0, level).y()) <= 2
    others = [k for k in ("level_below", "level_in_band", "level_above") if k != key]
    assert all(_bar_top(img, view, 0, COLOURS[k]) is None for k in others)


def test_threshold_line_and_moving_target(view):
    view.set_frame(ViewFrame(channel=2, thresholds_pct={2: [20.0]}, target_marker_pct={2: 70.0}))
    _levels(view, [0.0, 0.0, 5.0, 0.0])
    view.paint_now()
    img = _window_image(view)
    x = view.bar_point(2.3, 0).x()
    y_thr = view.bar_point(2, 20).y()
    y_mark = view.bar_point(2, 70).y()
    assert any(_close(_rgb(img, x, y), _hex_rgb(COLOURS["threshold"]), 4) for y in range(y_thr - 3, y_thr + 4))
    assert any(_close(_rgb(img, x, y), _hex_rgb(COLOURS["target_marker"]), 4) for y in range(y_mark - 4, y_mark + 5))
    assert not any(_close(_rgb(img, x, y), _hex_rgb(COLOURS["threshold"]), 4) for y in range(y_mark - 4, y_mark + 5))


def test_hidden_level_draws_no_bar(view):
    view.set_frame(ViewFrame(channel=1, hidden=True))
    _levels(view, [0.0, 60.0, 0.0, 0.0])
    view.paint_now()
    img = _window_image(view)
    assert _bar_top(img, view, 1, COLOURS["level_below"]) is None
    assert "Display hidden" in view.message_label.text()


def test_cue_counters_and_success_flash(view, qtbot):
    view.set_frame(
        ViewFrame(
            cue="hold",
            countdown_s=2.2,
            rep=2,
            reps_total=5,
            set_index=1,
            sets_total=2,
            successes=1,
            title="Reach and hold",
        )
    )
    view.paint_now()
    assert view.cue_label.text() == "HOLD 3 s"
    assert view.counter_label.text() == "Rep 2/5   Set 1/2   \u2713 1"
    view.set_frame(ViewFrame(cue="relax", success=True, rep=2, reps_total=5, successes=2))
    view.paint_now()
    assert view.cue_label.text() == "\u2713 GOOD"
    qtbot.wait(5)
    img = view.grab().toImage()
    centre = view.cue_label.geometry().topLeft() + QtCore.QPoint(8, 8)
    assert _close(_rgb(img, centre.x(), centre.y()), _hex_rgb(COLOURS["success"]), 3)


def test_status_and_summary(view):
    view.set_status("BOARD LOST: no data for 1.0 s", "error")
    view.show_summary(
        {
            "reps_attempted": 3,
            "reps_succeeded": 2,
            "latency_ms": {"p50": 21.0, "p95": 30.0},
            "reps": [{"time_in_band_s": 2.0}, {"time_in_band_s": 3.0}],
        }
    )
    view.paint_now()
    assert view.status_label.text().startswith("BOARD LOST")
    assert "Reps: 2 of 3 succeeded" in view.summary_label.text()
    assert "mean in band 2.50 s" in view.summary_label.text()
    img = view.grab().toImage()
    p = view.status_label.geometry().topLeft() + QtCore.QPoint(3, 3)
    assert _close(_rgb(img, p.x(), p.y()), _hex_rgb(COLOURS["warning"]), 3)


def test_keys_pause_mark_stop_resume(view, qtbot):
    got = []
    view.pause_toggled.connect(lambda p: got.append(("pause", p)))
    view.mark_requested.connect(lambda: got.append(("mark",)))
    view.stop_requested.connect(lambda: got.append(("stop",)))
    view.resume_requested.connect(lambda: got.append(("resume",)))
    for key in (
        QtCore.Qt.Key.Key_Space,
        QtCore.Qt.Key.Key_M,
        QtCore.Qt.Key.Key_Space,
        QtCore.Qt.Key.Key_R,
        QtCore.Qt.Key.Key_Escape,
    ):
        qtbot.keyClick(view, key)
    assert got == [("pause", True), ("mark",), ("pause", False), ("resume",), ("stop",)]


def test_envelope_scrolls_newest_sample_at_right_edge(view):
    view.set_frame(ViewFrame(channel=0))
    view.push(np.zeros((4, 500)))
    view.push(np.vstack([np.full((1, 25), 80.0), np.zeros((3, 25))]))  # the last 0.1 s at 80 %
    view.paint_now()
    img = _window_image(view)
    y80 = view.env_point(0, 80).y()
    colour = _hex_rgb(COLOURS["trace_focus"])  # the trained channel's trace
    near_now = view.env_point(-0.05, 80).x()
    long_ago = view.env_point(-2.0, 80).x()
    assert any(_close(_rgb(img, near_now, y), colour, 4) for y in range(y80 - 2, y80 + 3))
    assert not any(_close(_rgb(img, long_ago, y), colour, 4) for y in range(y80 - 2, y80 + 3))


def test_push_rejects_wrong_shape(view):
    with pytest.raises(ValueError, match=r"\(4, n\)"):
        view.push(np.zeros((3, 5)))


def test_frame_from_drill_state_and_dict():
    from feedback.state import DrillState

    st = DrillState(
        title="t",
        cue="HOLD",
        countdown_s=1.5,
        channel=1,
        bands_pct={1: (30.0, 50.0)},
        thresholds_pct={1: [10.0]},
        rep=1,
        reps_total=3,
        successes=0,
        gating_message="lead off on VM",
    )
    f = frame_from_state(st)
    assert f.cue_text() == "HOLD 2 s" and f.bands_pct == {1: (30.0, 50.0)} and f.message == "lead off on VM"
    d = frame_from_state({"cue": "contract", "channel": 0, "bands_pct": {"0": [40, 60]}, "thresholds_pct": {0: 10}})
    assert d.bands_pct == {0: (40.0, 60.0)} and d.thresholds_pct == {0: [10.0]} and d.cue_text() == "CONTRACT"
    # the new fields come through from a DrillState
    st2 = DrillState(ceilings_pct={2: 15.0}, stage="calibration_rest", reps_planned=3, stopped_early=True)
    f2 = frame_from_state(st2)
    assert f2.ceilings_pct == {2: 15.0} and f2.stage == "calibration_rest" and f2.reps_planned == 3 and f2.stopped_early
    with pytest.raises(TypeError, match="DrillState"):
        frame_from_state(42)


def test_format_summary_without_reps():
    assert format_summary({}) == ""
    assert (
        format_summary({"reps_attempted": 0, "reps_succeeded": 0, "board_lost": True})
        == "Reps: 0 of 0 succeeded   \u2022   board lost during the session (recording kept)"
    )


def test_many_frames_do_not_exhaust_true_refcount(view):
    """PySide6 6.12 drops a reference to True on every signal emit; the guard keeps the view alive."""
    before = sys.getrefcount(True)
    for _ in range(300):
        _levels(view, [10.0, 20.0, 30.0, 40.0])
        view.refresh()
    assert sys.getrefcount(True) > 0 and (
        sys.version_info >= (3, 12) or sys.getrefcount(True) > 1 << 30 or before - sys.getrefcount(True) < 100
    )


def test_estimate_keys(view, qtbot):
    got = []
    view.estimate_entered.connect(got.append)
    for key in (QtCore.Qt.Key.Key_4, QtCore.Qt.Key.Key_7, QtCore.Qt.Key.Key_Backspace, QtCore.Qt.Key.Key_5):
        qtbot.keyClick(view, key)
    assert view.status_label.text().startswith("estimate: 45 %")
    qtbot.keyClick(view, QtCore.Qt.Key.Key_Return)
    assert got == [45.0]
    assert view.status_label.text() == "estimate given: 45 %"
    qtbot.keyClick(view, QtCore.Qt.Key.Key_Return)  # nothing typed: nothing given
    assert got == [45.0]


def test_missed_rep_and_artefact_message_are_shown(view):
    from feedback.state import DrillState

    view.set_frame(DrillState(cue="RELAX", failure=True, gating_message="VM: lead off, samples not counted"))
    view.paint_now()
    assert view.cue_label.text() == "TRY AGAIN"
    assert view.message_label.text() == "VM: lead off, samples not counted"
    img = view.grab().toImage()
    p = view.cue_label.geometry().topLeft() + QtCore.QPoint(8, 8)
    assert _close(_rgb(img, p.x(), p.y()), _hex_rgb(COLOURS["missed"]), 3)
    m = view.message_label.geometry()
    colours = {_rgb(img, x, y) for x in range(m.left(), m.right(), 2) for y in range(m.top(), m.bottom(), 2)}
    assert any(_close(c, _hex_rgb("#E69F00"), 20) for c in colours)  # the reason is written in orange


def test_live_latency_readout_on_the_therapist_strip(view, qtbot):
    view.set_frame(ViewFrame(title="Reach and hold"))
    view.set_latency(19.4, 31.0)
    view.set_channel_quality(["ok", "railed", "ok", "ok"])
    view.refresh()
    assert view.title_label.text() == "Reach and hold"  # nothing for the therapist in the patient's area
    assert view.strip.latency_label.text() == "latency 19 ms (p95 31 ms)"
    assert view.strip.quality_label.text() == "signal: VM railed"
    assert "T hide this strip" in view.strip.keys_label.text()
    # the strip sits at the bottom edge, under the patient's area
    assert view.strip.geometry().bottom() == view.height() - 1
    assert view.strip.geometry().top() > view.status_label.geometry().bottom()
    view.set_latency(None, None)
    view.set_channel_quality(["ok"] * 4)
    assert view.strip.latency_label.text() == "" and view.strip.quality_label.text() == "signal: all 4 ok"
    qtbot.keyClick(view, QtCore.Qt.Key.Key_T)
    assert not view.strip.isVisible()
    qtbot.keyClick(view, QtCore.Qt.Key.Key_T)
    assert view.strip.isVisible()


def test_band_shift_fullscreen_and_strip_keys(view, qtbot):
    shifts = []
    view.band_shift_requested.connect(shifts.append)
    for key in (QtCore.Qt.Key.Key_Up, QtCore.Qt.Key.Key_Plus, QtCore.Qt.Key.Key_Down, QtCore.Qt.Key.Key_Minus):
        qtbot.keyClick(view, key)
    assert shifts == [5.0, 5.0, -5.0, -5.0]
    view.present(False)
    assert not view.isFullScreen() and (view.width(), view.height()) == (1280, 720)
    qtbot.keyClick(view, QtCore.Qt.Key.Key_F11)
    assert view.isFullScreen()
    qtbot.keyClick(view, QtCore.Qt.Key.Key_F11)
    assert not view.isFullScreen()


def test_early_stop_reads_stopped_after_n_of_m():
    summary = {"reps_attempted": 2, "reps_succeeded": 2, "reps_planned": 3, "stopped_early": True}
    assert format_summary(summary) == "Stopped after 2 of 3 reps: 2 succeeded"
    assert format_summary({**summary, "stopped_early": False}) == "Reps: 2 of 2 succeeded"


def test_end_screen_after_esc(view):
    from feedback.state import DrillState

    view.set_frame(
        DrillState(
            cue="DONE", finished=True, stopped_early=True, attempted=2, successes=2, reps_planned=3, success=True
        )
    )
    view.show_summary({"reps_attempted": 2, "reps_succeeded": 2, "reps_planned": 3, "stopped_early": True})
    view.paint_now()
    assert view.cue_label.text() == "STOPPED"
    assert view.message_label.text() == "Stopped after 2 of 3 reps: 2 succeeded"
    assert view.summary_label.text().startswith("Stopped after 2 of 3 reps: 2 succeeded")


def test_calibration_rest_is_calm_and_reference_climbs_to_its_goal(view):
    view.set_frame(ViewFrame(cue="REST", channel=1, stage="calibration_rest", bands_pct={1: (40.0, 60.0)}))
    _levels(view, [5.0, 50.0, 5.0, 5.0])
    view.paint_now()
    img = _window_image(view)
    top = _bar_top(img, view, 1, COLOURS["level_rest"])
    assert top is not None and abs(top - view.bar_point(1, 50).y()) <= 2  # grey, even inside a band
    for key in ("level_below", "level_in_band", "level_above"):
        assert _bar_top(img, view, 1, COLOURS[key]) is None
    assert view.cue_label.text() == "REST" and "relaxed" in view.message_label.text()
    view.set_frame(ViewFrame(cue="CONTRACT", channel=1, stage="calibration_reference", target_marker_pct={1: 100.0}))
    _levels(view, [5.0, 60.0, 5.0, 5.0])
    view.paint_now()
    img = _window_image(view)
    top = _bar_top(img, view, 1, COLOURS["level_below"])
    assert top is not None and abs(top - view.bar_point(1, 60).y()) <= 2
    x, y = view.bar_point(1.35, 100).x(), view.bar_point(1, 100).y()
    assert any(_close(_rgb(img, x, yy), _hex_rgb(COLOURS["target_marker"]), 4) for yy in range(y - 4, y + 5))


def test_ceiling_has_its_own_colour_and_words(view):
    view.set_frame(
        ViewFrame(channel=0, bands_pct={0: (30.0, 50.0)}, thresholds_pct={0: [10.0]}, ceilings_pct={1: 15.0})
    )
    _levels(view, [40.0, 25.0, 0.0, 0.0])
    view.paint_now()
    img = _window_image(view)
    assert COLOURS["ceiling"] != COLOURS["threshold"]
    x, y = view.bar_point(1.4, 0).x(), view.bar_point(1, 15).y()
    assert any(_close(_rgb(img, x, yy), _hex_rgb(COLOURS["ceiling"]), 4) for yy in range(y - 3, y + 4))
    # over its ceiling the quiet muscle's bar turns vermillion
    assert _bar_top(img, view, 1, COLOURS["level_above"]) is not None
    words = [full for _, _, full, _ in view.text_boxes()]
    assert "VM: stay below 15 %" in words
    assert "relax below 10 %" in words and "OVER" in words and "IN BAND" in words


def test_tracking_path_with_look_ahead(view):
    times = tuple(-4.0 + 0.1 * i for i in range(71))  # 4 s of past, 3 s ahead
    values = tuple(30.0 + 10.0 * np.sin(t) for t in times)
    view.set_frame(ViewFrame(channel=0, target_path_pct=(times, values), target_marker_pct={0: values[40]}))
    _levels(view, [30.0, 0.0, 0.0, 0.0])
    view.paint_now()
    img = _window_image(view)
    assert view.env_point(3.0, 0).x() <= view.env_plot.mapTo(view, view.env_plot.rect().bottomRight()).x()
    assert view.env_point(0.0, 0).x() < view.env_point(2.0, 0).x()  # "now" is not the right edge any more
    for t in (1.0, 2.0, 2.8):
        p = view.env_point(t, 30.0 + 10.0 * np.sin(t))
        assert any(_close(_rgb(img, p.x(), p.y() + dy), _hex_rgb(COLOURS["target_path"]), 6) for dy in range(-4, 5)), t


def test_text_scales_with_the_window_and_long_text_never_widens_it(view, qtbot):
    view.set_frame(ViewFrame(cue="HOLD", title="A very long drill name " * 8, message="and a long message " * 20))
    view.resize(1024, 600)
    view.paint_now()
    qtbot.wait(5)
    assert view.width() == 1024 and view.minimumSizeHint().width() < 1024
    small = view.cue_label.text_box().height()
    view.resize(1920, 1080)
    view.paint_now()
    qtbot.wait(5)
    assert view.width() == 1920
    assert view.cue_label.text_box().height() > 1.5 * small
    assert view.title_label.shown_text().endswith("\u2026")  # elided, not widening the window


def test_channel_names_are_written_for_people(qtbot):
    v = FeedbackView(["vastus_medialis", "biceps_femoris"], 250.0)
    qtbot.addWidget(v)
    v.resize(1920, 1080)
    v.show()
    qtbot.waitExposed(v)
    v.set_frame(ViewFrame(channel=0))
    v.paint_now()
    names = [full.replace("\n", " ") for name, _, full, _ in v.text_boxes() if name.startswith("channel name")]
    assert names == ["vastus medialis", "biceps femoris"]  # on one line or two, never "vastus_medialis"


@pytest.mark.parametrize("size", [(1024, 600), (1920, 1080)])
def test_sixteen_channels_fit(qtbot, size):
    """16 muscles: every bar keeps its own % label and name, none cut or overlapping, at the smallest screen too."""
    from test_view_drills import check_texts

    names = [f"muscle_number_{i + 1}" for i in range(16)]
    v = FeedbackView(names, 250.0)
    qtbot.addWidget(v)
    v.resize(*size)
    v.show()
    qtbot.waitExposed(v)
    v.set_frame(ViewFrame(cue="HOLD", channel=3, bands_pct={3: (30.0, 50.0)}, thresholds_pct={3: [10.0]}, rep=1))
    v.push(np.linspace(5, 118, 16)[:, None] * np.ones((1, 10)))
    v.paint_now()
    check_texts(v, f"16 channels at {size}")
    labels = [full for name, _, full, _ in v.text_boxes() if name.startswith("plot text") and full[0].isdigit()]
    assert len(labels) == 16  # every bar has its level written
