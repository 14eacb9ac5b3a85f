"""Reach-and-hold under scripted activation: exact event times, counts and per-rep metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_drills_script import build, labels, levels, run

from dsp.errors import SignalError

FS = 100.0
TOML = """
kind = "reach_hold"
name = "scripted"
[target]
channel = 1
band_pct = [40, 60]
hold_s = 1.0
dropout_tolerance_s = 0.1
[protocol]
reps = 2
work_s = 3.0
rest_s = 1.0
start_delay_s = 0.5
rest_threshold_pct = 10
"""

# rep 1: onset at 0.8 (20 %), band at 0.9 for 1.2 s -> success at 1.9; relaxed at 2.1.
# rep 2 (cue 3.1): only 30 % from 3.8 -> failure at 6.1; relaxed at 6.8.
SCRIPT = [(0.8, 0), (0.1, 20), (1.2, 50), (0.3, 0), (1.4, 0), (3.0, 30), (0.2, 5), (1.0, 0)]


def test_two_reps_exact_timeline_and_metrics():
    drill = build(TOML, fs_hz=FS)
    events = run(drill, levels(FS, *SCRIPT))
    assert labels(events, "rep_start", "success", "failure", "rep_end", "drill_end") == [
        ("rep_start", 0.5),
        ("success", 1.9),
        ("rep_end", 2.1),
        ("rep_start", 3.1),
        ("failure", 6.1),
        ("rep_end", 6.8),
        ("drill_end", 6.8),
    ]
    r1, r2 = drill.summary()["reps"]
    assert r1["result"] == "success"
    assert r1["reaction_time_s"] == pytest.approx(0.3)
    assert r1["time_to_band_s"] == pytest.approx(0.4)
    assert r1["time_in_band_s"] == pytest.approx(1.0)
    assert r1["longest_hold_s"] == pytest.approx(1.0)
    assert r1["time_to_relax_s"] == pytest.approx(0.2)
    assert r1["steadiness_sd_pct"] == 0.0 and r1["hold_mean_pct"] == 50.0
    assert r1["peak_pct"] == 50.0
    assert r2["result"] == "failure"
    assert r2["reaction_time_s"] == pytest.approx(0.7)
    assert r2["time_to_band_s"] is None
    assert r2["time_in_band_s"] == 0.0
    assert r2["time_to_relax_s"] == pytest.approx(0.7)
    s = drill.summary()
    assert (s["reps_attempted"], s["reps_succeeded"], s["reps_void"]) == (2, 1, 0)
    assert s["success_rate"] == 0.5
    assert drill.finished and drill.state.finished
    assert drill.state.cue == "DONE"


@pytest.mark.parametrize("chunk", [1, 3, 25, 10_000])
def test_chunking_does_not_change_events(chunk):
    ref = [e.to_dict() for e in run(build(TOML, fs_hz=FS), levels(FS, *SCRIPT), chunk=7)]
    got = [e.to_dict() for e in run(build(TOML, fs_hz=FS), levels(FS, *SCRIPT), chunk=chunk)]
    assert got == ref


def test_cues_published_for_the_patient():
    drill = build(TOML, fs_hz=FS)
    act = levels(FS, *SCRIPT)
    seen = []
    for i in range(0, act.shape[1], 5):
        drill.update(i / FS, act[:, i : i + 5])
        if not seen or seen[-1][1] != drill.cue.phase:
            seen.append((round(i / FS, 2), drill.cue.phase))
    phases = [p for _, p in seen]
    assert phases == ["rest", "contract", "hold", "relax", "rest", "contract", "relax", "rest"]
    cue_events = [e for e in run(build(TOML, fs_hz=FS), act) if e.label == "cue"]
    contract = [e.data for e in cue_events if e.data["phase"] == "contract"][0]
    assert contract["target_pct"] == 50.0 and contract["channel"] == 0 and contract["band_pct"] == [40.0, 60.0]
    assert drill.cue["phase"] == drill.cue.to_dict()["phase"]  # mapping access works too


def test_dropout_within_tolerance_keeps_the_hold_and_longer_resets_it():
    # 0.5 s in band, 0.1 s out (tolerated: 10 samples), 0.5 s in band -> success at 0.5+0.5+0.1+0.5
    drill = build(TOML, fs_hz=FS)
    ev = run(drill, levels(FS, (0.5, 0), (0.5, 50), (0.1, 30), (0.5, 50), (0.5, 0), (1.0, 0)))
    assert labels(ev, "success") == [("success", 1.6)]
    assert drill.summary()["reps"][0]["time_in_band_s"] == pytest.approx(1.0)
    # 0.11 s out resets: the second 0.5 s is not enough; the 1.0 s after it is -> success at 3.21
    drill = build(TOML, fs_hz=FS)
    ev = run(drill, levels(FS, (0.5, 0), (0.5, 50), (0.11, 30), (0.5, 50), (0.2, 30), (1.0, 50), (1, 0)))
    assert labels(ev, "success") == [("success", 2.81)]
    r = drill.summary()["reps"][0]
    assert r["longest_hold_s"] == pytest.approx(1.0)
    assert r["time_in_band_s"] == pytest.approx(2.0)


def test_next_rep_waits_for_relaxation_and_rest_counts_only_relaxed_samples():
    drill = build(TOML, fs_hz=FS)
    # success at 1.5; stays at 30 % (above the rest threshold) until 3.0; relaxed 3.0-3.5, tense 3.5-3.8,
    # relaxed again: 1 s of relaxed samples is complete at 4.3 -> rep 2 starts then
    ev = run(drill, levels(FS, (0.5, 0), (1.0, 50), (1.5, 30), (0.5, 0), (0.3, 50), (0.2, 0), (0.5, 0), (3, 0)))
    assert labels(ev, "success", "rep_end", "rep_start")[:4] == [
        ("rep_start", 0.5),
        ("success", 1.5),
        ("rep_end", 3.0),
        ("rep_start", 4.3),
    ]
    assert drill.summary()["reps"][0]["time_to_relax_s"] == pytest.approx(1.5)


def test_patient_is_told_to_relax_when_it_takes_long_or_tenses_in_the_rest():
    drill = build(TOML, fs_hz=FS)
    run(drill, levels(FS, (0.5, 0), (1.0, 50), (1.9, 30)))  # success at 1.5, still tense 1.9 s later
    assert drill.state.cue == "RELAX" and drill.state.message == ""
    run(drill, levels(FS, (0.2, 30)), t0_s=3.4)
    assert drill.state.message.startswith("Let the muscle go completely")
    run(drill, levels(FS, (0.3, 0)), t0_s=3.6)
    assert drill.state.cue == "REST" and drill.state.message == ""
    ev = run(drill, levels(FS, (0.1, 20), (0.1, 0)), t0_s=3.9)  # a 0.1 s blip at the threshold
    assert drill.state.cue == "REST" and not labels(ev, "cue")  # the cue does not flicker
    run(drill, levels(FS, (0.25, 20)), t0_s=4.1)  # tenses during the rest
    assert drill.state.cue == "RELAX" and drill.state.message.startswith("Let the muscle go completely")


def test_relax_timeout_ends_rep_without_time_to_relax():
    text = TOML.replace("rest_threshold_pct = 10", "rest_threshold_pct = 10\nrelax_timeout_s = 2")
    drill = build(text, fs_hz=FS)
    ev = run(drill, levels(FS, (0.5, 0), (1.0, 50), (3.0, 30), (2.0, 0)))
    assert labels(ev, "rep_end") == [("rep_end", 3.5)]
    assert drill.summary()["reps"][0]["time_to_relax_s"] is None
    assert labels(ev, "rep_start")[1] == ("rep_start", 5.5)  # relaxed at 4.5 + 1 s rest


def test_sets_and_set_rest():
    text = TOML.replace("reps = 2", "reps = 1\nsets = 2\nset_rest_s = 2.0")
    drill = build(text, fs_hz=FS)
    ev = run(drill, levels(FS, (0.5, 0), (1.0, 50), (3.0, 0), (1.0, 50), (1.0, 0)))
    assert labels(ev, "set_start", "set_end", "rep_start", "success", "drill_end") == [
        ("set_start", 0.0),
        ("rep_start", 0.5),
        ("success", 1.5),
        ("set_end", 1.5),
        ("set_start", 1.5),
        ("rep_start", 3.5),
        ("success", 5.5),
        ("set_end", 5.5),
        ("drill_end", 5.5),
    ]
    assert drill.state.set_index == 2 and drill.summary()["reps_succeeded"] == 2
    assert drill.state.message == "Done: 2 of 2 reps succeeded"
    mid = build(text, fs_hz=FS)
    run(mid, levels(FS, (0.5, 0), (1.0, 50), (1.0, 0)))
    assert mid.state.message == "Set 1 done: 1 of 1 reps. Rest before set 2"
    assert mid.state.cue == "REST" and mid.state.countdown_s == pytest.approx(1.0)


def test_state_for_the_view():
    drill = build(TOML, fs_hz=FS)
    run(drill, levels(FS, (0.5, 0), (0.5, 50)))  # 0.5 s into the hold
    st = drill.state
    assert (st.phase, st.cue, st.rep, st.reps_total, st.set_index, st.sets_total) == ("hold", "HOLD", 1, 2, 1, 1)
    assert st.countdown_s == pytest.approx(0.5)
    assert st.cue_text == "HOLD 1 s"
    assert st.bands_pct == {0: (40.0, 60.0)} and st.thresholds_pct == {0: [10.0]}
    run(drill, levels(FS, (0.5, 50)), t0_s=1.0)
    assert drill.state.success and drill.state.successes == 1
    run(drill, levels(FS, (1.0, 0)), t0_s=1.5)
    assert not drill.state.success  # flash over after 0.8 s
    frame = drill.state.to_view_frame()
    assert frame.successes == 1 and frame.bands_pct == {0: (40.0, 60.0)}


def test_pause_freezes_timers_and_stop_ends_with_summary():
    drill = build(TOML, fs_hz=FS)
    run(drill, levels(FS, (0.5, 0), (0.5, 50)))
    assert [e.label for e in drill.pause(1.0)] == ["pause"]
    assert drill.update(1.0, levels(FS, (5.0, 0))) == []  # ignored while paused
    assert [e.label for e in drill.resume(11.0)] == ["resume"]
    ev = run(drill, levels(FS, (0.5, 50), (0.5, 0)), t0_s=11.0)
    assert labels(ev, "success") == [("success", 11.5)]  # hold resumed where it stopped
    ev = drill.stop(12.0)
    assert [e.label for e in ev] == ["stop", "cue", "drill_end"]
    s = ev[-1].data["summary"]
    assert s["stopped_early"] and s["reps_attempted"] == 1 and s["reps_succeeded"] == 1
    assert drill.update(13.0, levels(FS, (0.1, 0))) == []


def test_stop_while_waiting_for_relaxation_keeps_the_rep():
    drill = build(TOML, fs_hz=FS)
    run(drill, levels(FS, (0.5, 0), (1.0, 50), (1.0, 30)))  # success at 1.5, never relaxes
    assert [r["result"] for r in drill.summary()["reps"]] == ["success"]  # listed while pending
    ev = drill.stop(2.5)
    assert [e.label for e in ev] == ["stop", "rep_end", "cue", "drill_end"]
    assert ev[1].data["time_to_relax_s"] is None
    assert len(ev[-1].data["summary"]["reps"]) == 1


def test_events_are_json_serialisable():
    drill = build(TOML, fs_hz=FS)
    events = run(drill, levels(FS, *SCRIPT))
    text = json.dumps([e.to_dict() for e in events])
    back = json.loads(text)
    assert back[0]["label"] == "drill_start" and back[0]["data"]["config"]["kind"] == "reach_hold"
    json.dumps(drill.summary())
    json.dumps(drill.state.to_dict())


def test_bad_input_shapes_are_one_line_errors():
    drill = build(TOML, fs_hz=FS, n_channels=2)
    with pytest.raises(SignalError, match=r"expected \(2, n\)"):
        drill.update(0.0, np.zeros((3, 5)))
    with pytest.raises(SignalError, match="flags of shape"):
        drill.update(0.0, np.zeros((2, 5)), np.zeros((2, 4), np.uint8))
    with pytest.raises(SignalError, match="accel of shape"):
        drill.update(0.0, np.zeros((2, 5)), None, np.zeros((2, 5)))
    with pytest.raises(SignalError, match="this session has 2 channels"):
        build(TOML.replace("channel = 1", "channel = 5"), n_channels=2)


def test_channel_by_name():
    drill = build(TOML.replace("channel = 1", 'channel = "VMO"'), n_channels=3, channel_names=["RF", "VMO", "BF"])
    assert drill.channels == [1]
    with pytest.raises(SignalError, match="names channel 'VMO'"):
        build(TOML.replace("channel = 1", 'channel = "VMO"'), n_channels=2, channel_names=["a", "b"])


def test_empty_chunk_advances_clock():
    drill = build(TOML, fs_hz=FS)
    drill.update(0.0, np.zeros((1, 10)))
    assert drill.state.countdown_s == pytest.approx(0.4)
    drill.update(0.3, np.zeros((1, 0)))
    assert drill.state.phase == "rest" and not drill.finished
