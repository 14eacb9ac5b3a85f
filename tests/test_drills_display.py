"""What every shipped drill shows and says: reps planned, failure reasons, early stops, ceilings, the
tracking path, live sway, human channel names, and the therapist's band shift (no Qt, made-up activation)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from test_drills_script import levels, run

from feedback.balance import sway_metrics, tilt_angles_deg
from feedback.drills import find_drill, load_drill, make_drill
from feedback.names import display_name

FS = 250.0
NAMES = ["vastus_medialis_l", "biceps_femoris_l", "upper_trapezius_r"]
# the shipped drills of the training kinds, with reps x sets (awareness: trials over all blocks)
PLANNED = {
    "reach_hold_quadriceps": 16,
    "reach_hold_demo": 3,
    "isolation_vmo_vs_hamstrings": 8,
    "symmetry_quadriceps": 6,
    "downtrain_upper_trapezius": 6,
    "tracking_sine": 3,
    "tracking_trapezoid": 4,
    "balance_single_leg": 4,
    "stretch_hamstrings": 3,
    "awareness_fading": 18,
}
STOPPED = re.compile(r"Stopped after (\d+) of (\d+) reps: (\d+) succeeded")


def shipped(name: str):
    return make_drill(load_drill(find_drill(name)), fs_hz=FS, n_channels=len(NAMES), channel_names=list(NAMES))


def const(seconds: float, *per_channel: float) -> np.ndarray:
    lv = (
        per_channel if len(per_channel) == len(NAMES) else tuple(per_channel) + (0.0,) * (len(NAMES) - len(per_channel))
    )
    return levels(FS, (seconds, lv), n_channels=len(NAMES))


def failures(events):
    return [e for e in events if e.label == "failure"]


# ---------------------------------------------------------------------------------------------- names
@pytest.mark.parametrize(
    "raw, shown",
    [
        ("vastus_medialis", "vastus medialis"),
        ("vastus_medialis_l", "vastus medialis L"),
        ("tibialis-anterior-R", "tibialis anterior R"),
        ("VMO", "VMO"),
        ("ch1", "ch1"),
        ("l", "l"),
    ],
)
def test_display_name(raw, shown):
    assert display_name(raw) == shown


# ------------------------------------------------------------------------------------ reps planned
@pytest.mark.parametrize("name", sorted(PLANNED))
def test_reps_planned_and_early_stop(name):
    drill = shipped(name)
    assert drill.state.reps_planned == PLANNED[name]
    assert drill.state.stage == "drill" and drill.state.scale_label == "% of reference"
    drill.state.message = "calibration accepted"  # whatever was on screen before the drill
    run(drill, const(0.1))
    assert drill.state.message == ""  # the drill's own message is fresh
    run(drill, const(5.0, 30.0, 30.0, 5.0), t0_s=0.1)
    ev = drill.stop(5.1)
    assert [e.label for e in ev][-1] == "drill_end"
    st = drill.state
    m = STOPPED.fullmatch(st.message)
    assert st.stopped_early and st.finished and m, st.message
    summary = drill.summary()
    assert [int(g) for g in m.groups()] == [summary["reps_attempted"], PLANNED[name], summary["reps_succeeded"]]


def test_early_stop_counts_the_reps_done_not_the_planned_ones():
    drill = shipped("reach_hold_demo")  # 3 reps: delay 2 s, hold 2 s in 20-50 %, rest 3 s relaxed
    act = np.hstack([const(2.0), const(2.5, 35.0), const(3.5), const(2.5, 35.0), const(1.0)])
    run(drill, act)
    assert drill.summary()["reps_succeeded"] == 2
    drill.stop(11.5)
    assert drill.state.message == "Stopped after 2 of 3 reps: 2 succeeded"  # was "Done: 2 of 2 reps succeeded"


def test_a_finished_drill_says_done():
    drill = shipped("reach_hold_demo")
    act = np.hstack([const(2.0)] + [np.hstack([const(2.5, 35.0), const(3.5)])] * 3)
    run(drill, act)
    assert drill.finished and not drill.state.stopped_early
    assert drill.state.message == "Done: 3 of 3 reps succeeded"


# ----------------------------------------------------------------------------------- failure reasons
def check_reason(drill, events, expected: str):
    fails = failures(events)
    assert fails, "no failed rep"
    assert all(e.data["reason"] for e in fails)
    assert fails[0].data["reason"] == expected
    return fails


def test_reach_hold_says_not_high_enough_and_held_too_short():
    drill = shipped("reach_hold_demo")
    ev = run(drill, np.hstack([const(2.0), const(8.2, 15.0)]))  # above rest, below the 20 % band edge
    check_reason(drill, ev, "not high enough: peak 15 of 20 %")
    assert drill.state.failure_reason == "not high enough: peak 15 of 20 %" and drill.state.failure
    drill = shipped("reach_hold_demo")
    ev = run(drill, np.hstack([const(2.0), const(1.2, 35.0), const(7.0, 60.0)]))
    check_reason(drill, ev, "held 1.2 of 2.0 s")
    drill = shipped("reach_hold_demo")
    ev = run(drill, np.hstack([const(2.0), const(8.2, 0.0)]))
    check_reason(drill, ev, "no contraction seen")


def test_isolation_names_the_muscle_that_was_too_active():
    drill = shipped("isolation_vmo_vs_hamstrings")  # target 30-50 %, quiet channel 2 below 15 %
    run(drill, const(3.0))
    ev = run(drill, const(0.5, 40.0, 30.0), t0_s=3.0)
    assert drill.state.message == "biceps femoris L too active: let it relax"
    ev += run(drill, const(10.0, 40.0, 30.0), t0_s=3.5)
    check_reason(drill, ev, "biceps femoris L too active")
    assert drill.state.ceilings_pct == {1: 15.0} and drill.state.thresholds_pct == {0: [10.0]}


def test_symmetry_reasons_and_human_names():
    drill = shipped("symmetry_quadriceps")  # both 30-60 %, within 10 %
    run(drill, const(3.0))
    run(drill, const(0.5, 40.0, 55.0), t0_s=3.0)
    assert drill.state.message == "Even out: more on vastus medialis L"
    ev = run(drill, const(10.0, 40.0, 55.0), t0_s=3.5)
    check_reason(drill, ev, "sides uneven: 15 % apart (at most 10)")
    drill = shipped("symmetry_quadriceps")
    ev = run(drill, np.hstack([const(3.0), const(10.5, 40.0, 20.0)]))
    check_reason(drill, ev, "biceps femoris L not high enough: peak 20 of 30 %")


def test_downtrain_reason_and_ceiling():
    drill = shipped("downtrain_upper_trapezius")  # channel 2 below 10 % for 10 s within 30 s
    ev = run(drill, np.hstack([const(3.0, 0, 50.0), const(30.5, 0, 50.0)]))
    check_reason(drill, ev, "stayed above the 10 % ceiling")
    assert drill.state.ceilings_pct == {1: 10.0} and drill.state.thresholds_pct == {}
    drill = shipped("downtrain_upper_trapezius")
    ev = run(drill, np.hstack([const(3.0, 0, 50.0), const(4.0, 0, 5.0), const(26.5, 0, 50.0)]))
    check_reason(drill, ev, "kept low 4.0 of 10.0 s")


def test_tracking_stretch_and_awareness_reasons():
    drill = shipped("tracking_trapezoid")
    ev = run(drill, const(3.0 + 12.1))
    fails = failures(ev)
    assert len(fails) == 1 and fails[0].data["reason"].startswith("too far from the path: off by ")
    assert drill.state.failure_reason == fails[0].data["reason"]
    drill = shipped("stretch_hamstrings")
    ev = run(drill, const(3.0 + 30.1, 0, 50.0))
    check_reason(drill, ev, "too tense: relaxed 0 % of the time (need 90 %)")
    drill = shipped("awareness_fading")  # delay 3 s, aim 4 s, then the estimate
    run(drill, const(7.1, 40.0))
    ev = drill.submit_estimate(7.2, 70.0)
    assert [e.data["reason"] for e in failures(ev)] == ["estimate off by 30 % (within 10 counts)"]
    assert drill.state.failure_reason == "estimate off by 30 % (within 10 counts)"
    run(drill, const(8.0), t0_s=7.2)  # reveal 3 s, rest 4 s: the next trial starts: the old reason is gone
    assert drill.state.failure_reason == "" and drill.state.phase == "contract"


def test_awareness_done_screen_asks_for_nothing():
    drill = shipped("awareness_fading")
    run(drill, const(7.1, 40.0))
    assert drill.state.message.startswith("How strong was that?") and drill.state.hidden
    drill.stop(7.2)
    assert drill.state.message == "Stopped after 0 of 18 reps: 0 succeeded"  # the trial had no estimate yet
    assert not drill.state.hidden and drill.state.cue == "DONE"


# ------------------------------------------------------------------------------------- tracking path
@pytest.mark.parametrize("name", ["tracking_trapezoid", "tracking_sine"])
def test_tracking_path_is_the_drill_target_with_look_ahead(name):
    drill = shipped(name)  # start delay 3 s, then a 12 s trial
    ev = run(drill, const(1.0, 20.0))
    path = drill.state.target_path_pct  # during the rest: a preview of the coming trial
    t_frame = 1.0 - 1 / FS
    assert path is not None and min(path[0]) >= 3.0 - t_frame - 1e-9 and max(path[0]) <= 3.0 + 1e-9
    ev += run(drill, const(10.0, 20.0), t0_s=1.0)  # 8 s into the trial
    start = [e.t_s for e in ev if e.label == "rep_start"][0]
    t_frame = 11.0 - 1 / FS
    times, pcts = drill.state.target_path_pct
    assert 80 <= len(times) <= 120 and list(times) == sorted(times)
    assert times[0] == pytest.approx(-8.0, abs=0.11) and times[-1] == pytest.approx(3.0, abs=0.11)
    for t_rel, pct in zip(times, pcts, strict=True):
        assert pct == pytest.approx(drill.target_at(t_frame + t_rel - start), abs=1e-5)
    # the look-ahead is the real future: the marker reaches the path's values as time goes on
    future = {round(t_frame + t_rel, 3): pct for t_rel, pct in zip(times, pcts, strict=True) if t_rel > 1.0}
    run(drill, const(2.0, 20.0), t0_s=11.0)
    t_later = 13.0 - 1 / FS
    nearest = min(future, key=lambda tt: abs(tt - t_later))
    assert drill.state.target_marker_pct[0] == pytest.approx(future[nearest], abs=1.5)
    assert drill.state.target_path_pct[0][-1] <= 12.0 - (t_later - start) + 1e-6  # not past the trial's end


# ------------------------------------------------------------------------------------------ balance
def swaying_accel(seconds: float, amplitude_deg: float) -> np.ndarray:
    """Accelerometer (3, n) in g of a board tilting by ``amplitude_deg`` in two directions (5 s / 3 s cycles)."""
    t = np.arange(int(round(seconds * FS))) / FS
    a = np.radians(amplitude_deg) * np.sin(2 * np.pi * t / 5.0)
    b = np.radians(amplitude_deg) * np.sin(2 * np.pi * t / 3.0)
    return np.vstack([np.sin(a), np.sin(b) * np.cos(a), np.cos(a) * np.cos(b)])


def test_balance_sway_fields_track_the_accelerometer():
    drill = shipped("balance_single_leg")  # delay 3 s, 20 s stance, sway limit 20 deg^2
    still = np.tile(np.array([[0.0], [0.0], [1.0]]), int(3 * FS))
    run(drill, const(3.0, 20.0, 20.0), accel=still)
    assert drill.state.sway_limit_deg2 == 20.0 and drill.state.sway_deg2 is None
    acc = swaying_accel(20.2, 4.0)
    run(drill, const(10.0, 20.0, 20.0), accel=acc[:, : int(10 * FS)], t0_s=3.0)
    so_far = sway_metrics(acc[:, : int(10 * FS)])["sway_area_deg2"]
    assert so_far > 20.0 and drill.state.sway_deg2 == pytest.approx(so_far, rel=0.05)
    # the tilt is the latest sample's angles about the trial's starting direction
    tilt = drill.state.tilt_deg
    start_dir = acc[:, :10] / np.linalg.norm(acc[:, :10], axis=0)
    g0 = start_dir.mean(axis=1) / np.linalg.norm(start_dir.mean(axis=1))
    last = acc[:, int(10 * FS) - 1]
    angle = math.degrees(math.acos(float(last @ g0) / float(np.linalg.norm(last))))
    assert math.hypot(*tilt) == pytest.approx(angle, rel=0.02, abs=0.05)
    ev = run(drill, const(10.2, 20.0, 20.0), accel=acc[:, int(10 * FS) :], t0_s=13.0)
    rep = drill.summary()["reps"][0]
    assert rep["result"] == "failure" and drill.state.sway_deg2 == rep["sway_area_deg2"]
    check_reason(drill, ev, f"too much sway: {rep['sway_area_deg2']:.1f} of 20 deg\u00b2")
    assert rep["sway_area_deg2"] == pytest.approx(sway_metrics(acc[:, : int(20 * FS)])["sway_area_deg2"], rel=1e-6)


def test_tilt_angles_point_along_the_board_x_axis():
    acc = swaying_accel(2.0, 3.0)
    ang = tilt_angles_deg(acc)
    a_true = 3.0 * np.sin(2 * np.pi * np.arange(acc.shape[1]) / FS / 5.0)
    assert np.corrcoef(ang[0], a_true)[0, 1] > 0.99  # the first angle follows the tilt toward x


# ---------------------------------------------------------------------------------- therapist's keys
def test_shift_band_moves_the_band_and_later_reps_use_it():
    drill = shipped("reach_hold_demo")  # 20-50 %
    ev = run(drill, np.hstack([const(2.0), const(2.5, 35.0), const(1.0)]))
    assert [e.data["result"] for e in ev if e.label == "rep_end"] == ["success"]
    shift = drill.shift_band(5.5, 20.0)
    assert [(e.label, e.t_s, e.data) for e in shift] == [
        (
            "threshold_change",
            5.5,
            {"name": "band_pct", "old_pct": [20.0, 50.0], "new_pct": [40.0, 70.0], "reason": "therapist"},
        )
    ]
    assert drill.state.bands_pct == {0: (40.0, 70.0)}  # at once
    ev = run(drill, np.hstack([const(2.5), const(8.5, 35.0), const(3.0)]), t0_s=5.5)
    check_reason(drill, ev, "not high enough: peak 35 of 40 %")
    assert [r["band_pct"] for r in drill.summary()["reps"]] == [[20.0, 50.0], [40.0, 70.0]]


def test_shift_band_clamps_and_is_deterministic():
    def session():
        drill = shipped("reach_hold_quadriceps")  # 30-50 %
        out = []
        for i, d in enumerate([-5.0, -50.0, -5.0, 100.0, 100.0, 100.0]):
            out += [(e.t_s, e.data["new_pct"]) for e in drill.shift_band(1.0 + i, d)]
        return out, drill

    a, drill = session()
    b, _ = session()
    assert a == b
    assert [x[1] for x in a] == [[25.0, 45.0], [0.0, 20.0], [100.0, 120.0], [180.0, 200.0]]  # no event at a limit
    assert drill.band_pct == (180.0, 200.0) and drill.shaper.value_pct == 180.0


def test_shift_band_moves_ceilings_and_trajectories():
    drill = shipped("downtrain_upper_trapezius")
    ev = drill.shift_band(0.5, 5.0)
    assert [e.data for e in ev] == [{"name": "ceiling_pct", "old_pct": 10.0, "new_pct": 15.0, "reason": "therapist"}]
    assert drill.state.ceilings_pct == {1: 15.0}
    drill = shipped("isolation_vmo_vs_hamstrings")
    ev = drill.shift_band(0.5, -5.0)
    assert [(e.data["name"], e.data["new_pct"]) for e in ev] == [("band_pct", [25.0, 45.0]), ("ceiling_pct", 10.0)]
    assert drill.state.bands_pct == {0: (25.0, 45.0)} and drill.state.ceilings_pct == {1: 10.0}
    drill = shipped("tracking_trapezoid")  # 5 -> 40 %
    run(drill, const(4.0, 20.0))
    before = drill.state.target_path_pct
    ev = drill.shift_band(4.0, 5.0)
    assert [e.data["new_pct"] for e in ev] == [[10.0, 45.0]]
    after = drill.state.target_path_pct
    assert after[0] == before[0] and all(
        b2 == pytest.approx(b1 + 5.0) for b1, b2 in zip(before[1], after[1], strict=True)
    )
    for name in ("balance_single_leg", "awareness_fading"):
        assert shipped(name).shift_band(1.0, 5.0) == []


def test_gating_message_uses_human_names():
    drill = shipped("reach_hold_demo")
    flags = np.zeros((len(NAMES), 50), np.uint8)
    flags[0] = 2  # a flagged sample on the first channel
    run(drill, const(0.2), flags=flags)
    assert drill.state.gating_message.startswith("Not counting:")
    assert " on vastus medialis L" in drill.state.gating_message and "_" not in drill.state.gating_message
