"""Isolation, symmetry, down-training, tracking, stretch, balance and awareness under scripted input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_drills_script import build, labels, levels, run

from feedback.balance import CHI2_95_2DOF, sway_metrics
from feedback.errors import DrillConfigError, FeedbackError
from feedback.tracking import target_at

FS = 100.0


def test_isolation_needs_the_quiet_channel_below_its_ceiling():
    drill = build(
        """
kind = "isolation"
name = "i"
[target]
channel = 1
band_pct = [40, 60]
hold_s = 1.0
[quiet]
channel = 2
max_pct = 15
[protocol]
reps = 1
work_s = 3
start_delay_s = 0.5
rest_threshold_pct = 10
""",
        fs_hz=FS,
        n_channels=2,
        channel_names=["VMO", "BF"],
    )
    # target in band from 0.5 s; hamstrings co-contract (25 %) until 1.0 s, then quiet (5 %)
    act = levels(FS, (0.5, (0, 0)), (0.5, (50, 25)), (1.2, (50, 5)), (0.5, (0, 0)), n_channels=2)
    ev = run(drill, act)
    assert labels(ev, "rep_start", "success", "rep_end") == [("rep_start", 0.5), ("success", 2.0), ("rep_end", 2.2)]
    r = drill.summary()["reps"][0]
    assert r["time_to_band_s"] == pytest.approx(0.5)  # goal met only once BF is quiet
    assert r["quiet_over_s"] == pytest.approx(0.5)
    assert r["quiet_peak_pct"] == 25.0
    cue = [e.data for e in ev if e.label == "cue" and e.data["phase"] == "contract"][0]
    assert cue["targets"] == [[0, 50.0]]  # the quiet channel has a ceiling, not a target
    # the quiet channel's ceiling is a ceiling, apart from the target's rest line
    assert drill.state.thresholds_pct == {0: [10.0]} and drill.state.ceilings_pct == {1: 15.0}
    with pytest.raises(DrillConfigError, match=r"\[quiet\] channel is the target channel"):
        build(drill.config.text.replace("channel = 2", "channel = 1"), n_channels=2)


def test_isolation_tells_the_patient_to_keep_the_other_muscle_quiet():
    drill = build(
        """
kind = "isolation"
name = "i"
[target]
channel = 1
band_pct = [40, 60]
hold_s = 1.0
[quiet]
channel = "BF"
max_pct = 15
[protocol]
start_delay_s = 0.5
""",
        fs_hz=FS,
        n_channels=2,
        channel_names=["VMO", "BF"],
    )
    run(drill, levels(FS, (0.5, (0, 0)), (0.3, (50, 25)), n_channels=2))
    assert drill.state.message == "BF too active: let it relax"
    run(drill, levels(FS, (0.2, (50, 5)), n_channels=2), t0_s=0.8)
    assert drill.state.message == "Keep BF relaxed"  # said all through the work, not only when it goes wrong


def test_symmetry_both_sides_within_tolerance():
    drill = build(
        """
kind = "symmetry"
name = "s"
[target]
left_channel = 1
right_channel = 2
band_pct = [30, 60]
tolerance_pct = 10
hold_s = 1.0
[protocol]
reps = 1
work_s = 4
start_delay_s = 0.5
rest_threshold_pct = 10
""",
        fs_hz=FS,
        n_channels=2,
        channel_names=["L", "R"],
    )
    # 0.5-1.5: L 50, R 35 (both in band, 15 apart: not symmetric); 1.5-2.6: L 45, R 40 -> success at 2.5
    act = levels(FS, (0.5, (0, 0)), (1.0, (50, 35)), (1.1, (45, 40)), (0.3, (0, 0)), n_channels=2)
    ev = run(drill, act)
    assert labels(ev, "success") == [("success", 2.5)]
    r = drill.summary()["reps"][0]
    assert r["time_to_band_s"] == pytest.approx(1.0)
    assert r["asymmetry_mean_pct"] == pytest.approx((100 * 15 + 100 * 5) / 200)
    assert r["symmetry_index_pct"] == pytest.approx(100 * (47.5 - 37.5) / 42.5)  # dsp's sign: left larger > 0
    assert r["steadiness_sd_pct"] == 0.0 and r["mean_pct"] == pytest.approx(0.5 * (42.5 + 42.5))


def test_downtrain_timeline():
    drill = build(
        """
kind = "downtrain"
name = "d"
[target]
channel = 1
max_pct = 10
hold_s = 1
[protocol]
reps = 2
work_s = 3
rest_s = 1
start_delay_s = 0.5
""",
        fs_hz=FS,
    )
    ev = run(drill, levels(FS, (0.8, 30), (1.0, 5), (4.0, 20), (0.1, 0)))
    assert labels(ev, "rep_start", "success", "failure", "drill_end") == [
        ("rep_start", 0.5),
        ("success", 1.8),
        ("rep_start", 2.8),
        ("failure", 5.8),
        ("drill_end", 5.8),
    ]
    assert drill.summary()["reps"][0]["time_to_band_s"] == pytest.approx(0.3)
    assert [e.data["phase"] for e in ev if e.label == "cue"][:2] == ["rest", "relax"]


@pytest.mark.parametrize(
    "shape, tau, expected",
    [
        ("ramp", 1.0, 25.0),
        ("ramp", 2.0, 50.0),
        ("trapezoid", 0.25, 25.0),
        ("trapezoid", 1.0, 50.0),
        ("trapezoid", 1.75, 25.0),
        ("sine", 0.0, 0.0),
        ("sine", 0.5, 50.0),
        ("sine", 0.25, 25.0),
    ],
)
def test_trajectories(shape, tau, expected):
    got = target_at(shape, tau, low_pct=0.0, high_pct=50.0, duration_s=2.0, rise_s=0.5, period_s=1.0)
    assert got == pytest.approx(expected)


TRACK = """
kind = "tracking"
name = "t"
[target]
channel = 1
[trajectory]
shape = "ramp"
low_pct = 0
high_pct = 50
duration_s = 2
[protocol]
reps = 2
rest_s = 0.5
start_delay_s = 0.5
[scoring]
max_rms_error_pct = 5
"""


def test_tracking_rms_error_and_lag():
    drill = build(TRACK, fs_hz=FS)
    t = np.arange(int(6 * FS)) / FS
    level = np.zeros_like(t)
    trial1 = (t >= 0.5) & (t < 2.5)
    level[trial1] = 25.0 * (t[trial1] - 0.5) + 4.0  # constant +4 % error
    trial2 = (t >= 3.0) & (t < 5.0)
    level[trial2] = 25.0 * np.clip(t[trial2] - 3.0 - 0.3, 0, None)  # 0.3 s late
    ev = run(drill, level[None, :])
    assert labels(ev, "rep_start", "success", "failure") == [
        ("rep_start", 0.5),
        ("success", 2.5),
        ("rep_start", 3.0),
        ("failure", 5.0),
    ]
    r1, r2 = drill.summary()["reps"]
    assert r1["rms_error_pct"] == pytest.approx(4.0) and r1["mean_error_pct"] == pytest.approx(4.0)
    assert r1["lag_s"] == 0.0
    assert r2["lag_s"] == pytest.approx(0.3)
    assert r2["rms_error_pct"] > 5.0
    assert drill.summary()["mean_rms_error_pct"] == pytest.approx((r1["rms_error_pct"] + r2["rms_error_pct"]) / 2)


def test_tracking_cue_follows_the_target_without_flooding_events():
    drill = build(TRACK, fs_hz=FS)
    ev = run(drill, levels(FS, (1.5, 0)))
    assert drill.cue.phase == "contract"
    assert drill.cue.target_pct == pytest.approx(25.0 * (1.49 - 0.5))
    assert drill.state.target_marker_pct == {0: pytest.approx(25.0 * (1.49 - 0.5))}
    assert sum(1 for e in ev if e.label == "cue") == 2  # REST, then one FOLLOW cue for the trial


STRETCH = """
kind = "stretch"
name = "s"
[target]
channel = 1
max_pct = 8
hold_s = 3
tense_grace_s = 0.2
[protocol]
reps = 1
start_delay_s = 0.5
[scoring]
min_relaxed_fraction = 0.75
"""


def test_stretch_tells_when_the_muscle_tenses():
    drill = build(STRETCH, fs_hz=FS)
    # a 0.1 s blip is within the grace; 0.5 s at 20 % is a tense episode from 2.0 (told at 2.2)
    act = levels(FS, (0.5, 0), (1.0, 2), (0.1, 20), (0.4, 2), (0.3, 20))
    ev = run(drill, act)
    assert labels(ev, "tense") == [("tense", 2.2)]
    assert drill.state.message == "Tensing: breathe out and let it go" and drill.state.cue == "LET GO"
    ev = run(drill, levels(FS, (0.2, 20), (1.1, 2)), t0_s=2.3)
    assert labels(ev, "relaxed", "success") == [("relaxed", 2.5), ("success", 3.5)]
    assert [e.data for e in ev if e.label == "relaxed"][0]["duration_s"] == pytest.approx(0.5)
    r = drill.summary()["reps"][0]
    assert r["relaxed_fraction"] == pytest.approx(0.8) and r["tense_episodes"] == 1
    assert r["tense_s"] == pytest.approx(0.5)
    assert drill.summary()["tense_episodes"] == 1


def _sway(fs: float, seconds: float, a_deg: float, b_deg: float, period_s: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    tx = np.radians(a_deg) * np.sin(2 * np.pi * t / period_s)
    ty = np.radians(b_deg) * np.cos(2 * np.pi * t / period_s)
    x, y = np.sin(tx), np.sin(ty)
    return np.vstack([x, y, np.sqrt(1 - x**2 - y**2)])


def test_sway_area_of_a_known_ellipse_and_cyton_zero_samples_skipped():
    acc = _sway(FS, 10.0, 2.0, 1.0)
    m = sway_metrics(acc)
    expected = math.pi * CHI2_95_2DOF * math.sqrt(2.0**2 / 2 * 1.0**2 / 2)
    assert m["sway_area_deg2"] == pytest.approx(expected, rel=0.01)
    assert m["sway_rms_deg"] == pytest.approx(math.sqrt(2.5), rel=0.01)
    sparse = acc.copy()
    sparse[:, np.arange(sparse.shape[1]) % 10 != 0] = 0.0  # Cyton: accel in 1 packet of 10
    assert sway_metrics(sparse)["sway_area_deg2"] == pytest.approx(expected, rel=0.02)
    assert sway_metrics(sparse)["accel_samples"] == 100
    assert sway_metrics(np.zeros((3, 50)))["sway_area_deg2"] is None


BALANCE = """
kind = "balance"
name = "b"
[stance]
hold_s = 4
channels = [1, 2]
side = "right"
[protocol]
reps = 2
rest_s = 1
start_delay_s = 1
[scoring]
max_sway_area_deg2 = 10
max_emg_cv_pct = 20
"""


def test_balance_scores_sway_and_emg_steadiness():
    drill = build(BALANCE, fs_hz=FS, n_channels=2)
    n = int(11 * FS)
    acc = np.hstack([_sway(FS, 6.0, 0.5, 0.5), _sway(FS, 5.0, 3.0, 2.0)])[:, :n]
    t = np.arange(n) / FS
    act = np.vstack([20 + 2 * np.sin(2 * np.pi * t), 30 + 3 * np.sin(2 * np.pi * t)])  # CV 7.07 %
    ev = run(drill, act, accel=acc)
    assert labels(ev, "rep_start", "success", "failure") == [
        ("rep_start", 1.0),
        ("success", 5.0),
        ("rep_start", 6.0),
        ("failure", 10.0),
    ]
    r1, r2 = drill.summary()["reps"]
    assert r1["sway_area_deg2"] < 10 < r2["sway_area_deg2"]
    assert r1["emg_cv_pct"] == [
        pytest.approx(100 * 2 / math.sqrt(2) / 20, rel=0.01),
        pytest.approx(100 * 3 / math.sqrt(2) / 30, rel=0.01),
    ]
    assert r1["accel_samples"] == 400
    assert drill.cue.text == "DONE"
    assert [e.data["text"] for e in ev if e.label == "cue"][1] == "STAND ON RIGHT LEG"


def test_balance_without_accelerometer_says_so_and_judges_emg_only():
    drill = build(BALANCE, fs_hz=FS, n_channels=2)
    act = np.full((2, int(3 * FS)), 20.0)
    run(drill, act)
    assert drill.state.message == "No accelerometer data from this board: sway is not measured"
    run(drill, np.full((2, int(3 * FS)), 20.0), t0_s=3.0)
    r = drill.summary()["reps"][0]
    assert r["sway_area_deg2"] is None and r["result"] == "success"
    named = build(BALANCE, fs_hz=FS, n_channels=2)  # accel= (the architecture's name) works as well
    named.update(0.0, np.full((2, int(3 * FS)), 20.0), None, accel=_sway(FS, 3.0, 1.0, 1.0))
    assert named._live.n == 200


AWARE = """
kind = "awareness"
name = "a"
[target]
channel = 1
levels_pct = [20, 40]
aim_s = 1.0
measure_s = 0.5
estimate_timeout_s = 2.0
reveal_s = 0.5
tolerance_pct = 10
[[blocks]]
trials = 2
feedback_every = 1
[[blocks]]
trials = 3
feedback_every = 0
[protocol]
rest_s = 0.5
start_delay_s = 0.5
"""


def test_awareness_blind_aim_estimate_reveal_and_fading_feedback():
    drill = build(AWARE, fs_hz=FS)
    reached = {1: 22.0, 2: 35.0, 3: 18.0, 4: 44.0, 5: 30.0}  # what the "patient" produces per trial
    estimates = {1: 25.0, 2: 50.0, 3: 20.0, 4: 40.0}  # trial 5: no estimate (timeout)
    events, hidden_seen, t = [], set(), 0.0
    for _ in range(int(30 * FS)):
        if drill.finished:
            break
        level = reached[drill.trial] if drill.phase == "aim" else 0.0
        events += drill.update(t, np.array([[level]]))
        hidden_seen.add((drill.phase, drill.state.hidden))
        if drill.phase == "estimate" and drill.trial in estimates:
            events += drill.submit_estimate(t + 0.01, estimates.pop(drill.trial))
        t += 1 / FS
    assert drill.finished
    assert ("aim", True) in hidden_seen and ("estimate", True) in hidden_seen and ("reveal", False) in hidden_seen
    rows = drill.summary()["reps"]
    assert [r["target_pct"] for r in rows] == [20, 40, 20, 40, 20]
    assert [r["actual_pct"] for r in rows] == [22.0, 35.0, 18.0, 44.0, 30.0]
    assert [r["error_pct"] for r in rows] == [3.0, 15.0, 2.0, -4.0, None]
    assert [r["result"] for r in rows] == ["success", "failure", "success", "success", "no_estimate"]
    assert [r["shown"] for r in rows] == [True, True, False, False, False]
    reveals = [e.data for e in events if e.label == "reveal"]
    assert [d.get("trial") for d in reveals] == [1, 2, None]  # block 2: only the block summary
    assert reveals[2]["mean_abs_error_pct"] == pytest.approx(3.0)
    s = drill.summary()
    assert s["mean_abs_error_pct"] == pytest.approx((3 + 15 + 2 + 4) / 4)
    assert [b["mean_abs_error_pct"] for b in s["blocks"]] == [pytest.approx(9.0), pytest.approx(3.0)]
    assert s["reps_attempted"] == 5 and s["reps_succeeded"] == 3
    rep_start = [e for e in events if e.label == "rep_start"]
    assert rep_start[0].t_s == pytest.approx(0.5) and rep_start[0].data["target_pct"] == 20


def test_awareness_estimate_validation():
    drill = build(AWARE, fs_hz=FS)
    with pytest.raises(FeedbackError, match="not a level in %"):
        drill.submit_estimate(0.0, float("nan"))
    assert drill.submit_estimate(0.0, 30) == []  # not asked for yet: ignored


def test_live_sway_shown_during_the_stance_matches_the_final_score():
    drill = build(BALANCE, fs_hz=FS, n_channels=2)
    n = int(4.9 * FS)
    acc = _sway(FS, 4.9, 3.0, 2.0)
    run(drill, np.full((2, n), 20.0), accel=acc)
    live = drill.state.score["sway_area_deg2"]
    run(drill, np.full((2, 20), 20.0), accel=_sway(FS, 0.2, 3.0, 2.0), t0_s=4.9)
    final = drill.summary()["reps"][0]["sway_area_deg2"]
    assert live == pytest.approx(final, rel=0.05)


def test_balance_cue_asks_for_the_stance_level_and_cv_skips_resting_channels():
    drill = build(BALANCE.replace('side = "right"', 'side = "right"\nlevel_pct = 20'), fs_hz=FS, n_channels=2)
    act = np.vstack([np.full(int(5.1 * FS), 20.0), 1.0 + np.sin(np.arange(int(5.1 * FS)))])  # ch2 at rest
    run(drill, act)
    r = drill.summary()["reps"][0]
    assert r["emg_cv_pct"][0] == 0.0 and r["emg_cv_pct"][1] is None and r["emg_cv_mean_pct"] == 0.0
    cue = drill.summary()  # the stance cue asked both ankle channels for 20 %
    assert drill.state.target_marker_pct == {0: 20.0, 1: 20.0} and drill.state.thresholds_pct == {}  # a guide
    assert cue["goal"]["side"] == "right"
