"""Replaying a recorded drill gives the live events and scores; a recorded drill config round-trips."""

from __future__ import annotations

import json

import pytest
from test_drills_script import build, levels, run

from feedback.drill_config import config_from_dict
from feedback.drills import find_drill, load_drill
from feedback.errors import DrillConfigError
from feedback.replay import actions_from_events, replay_drill

FS = 100.0


def test_every_shipped_config_round_trips_through_its_json():
    for name in ("reach_hold_quadriceps", "awareness_fading", "balance_single_leg", "tracking_sine"):
        cfg = load_drill(find_drill(name))
        again = config_from_dict(json.loads(json.dumps(cfg.to_dict())))
        assert again.params == cfg.params and again.kind == cfg.kind
    with pytest.raises(DrillConfigError, match="has no 'params' table"):
        config_from_dict({"kind": "reach_hold"})
    bad = load_drill(find_drill("reach_hold_demo")).to_dict()
    bad["params"]["target"]["hold_s"] = -2
    with pytest.raises(DrillConfigError, match=r"\[target\] hold_s must be > 0"):
        config_from_dict(bad)


def test_replay_with_pause_matches_the_live_run():
    text = find_drill("reach_hold_demo").read_text()
    act = levels(
        FS, (2.0, 0), (1.0, 35), (2.0, 0), (3.0, 0), (2.5, 35), (4.0, 0), (2.5, 40), (3.0, 0), (2.5, 30), (1.0, 0)
    )
    live = build(text, fs_hz=FS)
    events = run(live, act[:, :250])
    events += live.pause(2.5)  # paused for 3 s: the data keeps coming and is recorded, the drill ignores it
    events += run(live, act[:, 250:550], t0_s=2.5)
    events += live.resume(5.5)
    events += run(live, act[:, 550:], t0_s=5.5)
    recorded = json.loads(json.dumps([e.to_dict() for e in events]))
    replayed, summary = replay_drill(
        config_from_dict(recorded[0]["data"]["config"]), act, fs_hz=FS, actions=actions_from_events(recorded)
    )
    assert [e.to_dict() for e in replayed] == recorded
    assert summary["reps_succeeded"] == live.summary()["reps_succeeded"] == 3
    assert live.finished and [r["cue_time_s"] for r in summary["reps"]] == [2.0, 13.5, 20.0]


def test_replay_of_awareness_uses_recorded_estimates_and_stop_at_end():
    text = """kind = "awareness"
name = "a"
[target]
channel = 1
levels_pct = [30]
aim_s = 1.0
measure_s = 0.5
estimate_timeout_s = 3
reveal_s = 0.5
[[blocks]]
trials = 2
feedback_every = 1
[protocol]
rest_s = 0.5
start_delay_s = 0.5
"""
    act = levels(FS, (0.5, 0), (1.0, 28), (0.5, 0))  # the first trial's aim, then its estimate phase
    actions = [(1.8, "estimate", 33.0)]
    events, summary = replay_drill(build(text).config, act, fs_hz=FS, actions=actions, stop_at_end=True)
    rows = summary["reps"]
    assert len(rows) == 1 and rows[0]["estimate_pct"] == 33.0 and rows[0]["error_pct"] == pytest.approx(5.0)
    assert summary["stopped_early"] and events[-1].label == "drill_end"


def _drill_recording(kind_name: str, *, fs: float = 250.0, seconds: float = 30.0):
    """A project recording (in memory) of 4 board channels, the session having used ch3 and ch1, with a railed
    stretch on ch3, 5 packets lost at two places, and accelerometer rows."""
    import numpy as np

    from dsp.calibration import Calibration
    from dsp.synth import contractions
    from emg.recordings.recording import Event, Recording

    n = int(seconds * fs)
    x = contractions(fs, seconds, n_channels=4, snr=5.0, seed=3).x_uv.copy()
    x[2, 1000:1300] = 187_500.0
    keep = np.setdiff1d(np.arange(n + 5), [2000, 2001, 2002, 4000, 4001])[:n]  # lost packets: 3 then 2
    pkg = (keep % 256).astype(float)
    accel = np.vstack([0.01 * np.sin(np.arange(n) / fs), 0.02 * np.cos(np.arange(n) / fs), np.ones(n)])
    config = load_drill(find_drill(kind_name))
    cal = Calibration(
        rest_floor_uv=[3.0, 3.0],
        rest_sd_uv=[0.5, 0.5],
        reference_uv=[20.0, 25.0],
        channel_names=["vastus_medialis", "biceps_femoris"],
        fs_hz=fs,
        envelope="adaptive",
    )
    meta = {
        "board_id": 0,
        "rail_uv": 187_500.0,
        "drill": config.to_dict(),
        "calibration": cal.to_dict(),
        "filters": {"design": "x", "envelope": "adaptive", "mains_hz": 50.0},
        "session": {"part": 1, "channels_used": ["ch3", "ch1"]},
    }
    rec = Recording(
        data_uv=x,
        fs_hz=fs,
        channel_names=["ch1", "ch2", "ch3", "ch4"],
        muscles=["biceps_femoris", "", "vastus_medialis", ""],
        events=[Event("drill_start", 0, 0.0, {"kind": config.kind})],
        accel=accel,
        package_num=pkg,
        meta=meta,
    )
    return rec, cal, config


@pytest.mark.parametrize("drill_name, uses_accel", [("reach_hold_demo", False), ("balance_single_leg", True)])
def test_recording_replay_runs_the_live_chain_with_flags_and_accelerometer(monkeypatch, drill_name, uses_accel):
    """The analysis replays a drill recording through dsp.live.LiveChain as the session ran it: the channels it
    used, its filters and rail, DROPPED after lost packets, and the accelerometer for drills that use it."""
    import numpy as np

    import emg.analysis.drill
    from dsp.live import LiveChain
    from dsp.quality import QualityFlag
    from emg.analysis.drill import replay_drill_recording

    rec, cal, config = _drill_recording(drill_name)
    seen = {}
    real = emg.analysis.drill.replay_drill

    def spy(config, activation_pct, **kw):
        seen.update(kw, act=activation_pct)
        return real(config, activation_pct, **kw)

    monkeypatch.setattr(emg.analysis.drill, "replay_drill", spy)
    out = replay_drill_recording(rec, cal, [], None, False)
    assert "error" not in out, out
    chain = LiveChain(rec.fs_hz, 2, mains_hz=50.0, rail_uv=187_500.0)
    chain.set_calibration(cal)
    want = chain.process(rec.data_uv[[2, 0]].copy(), gaps_at=(2000, 3997))
    assert np.array_equal(seen["act"], want.activation_pct)
    assert np.array_equal(seen["flags"], want.flags)
    dropped = np.flatnonzero(seen["flags"][0] & QualityFlag.DROPPED)
    assert dropped.tolist() == [2000, 3997]
    assert np.all(seen["flags"][0, 1000:1300] & QualityFlag.RAILED)
    assert not np.any(seen["flags"][1] & QualityFlag.RAILED)
    assert seen["channel_names"] == ["vastus_medialis", "biceps_femoris"]
    if uses_accel:  # the board's accelerometer from the drill's first sample (here the recording's first)
        assert np.array_equal(seen["accel_g"], rec.accel)
    else:
        assert seen["accel_g"] is None


def test_actions_include_stop_and_the_therapists_band_shifts_only():
    from feedback.replay import band_shift_pct

    recorded = [
        {
            "label": "threshold_change",
            "time_s": 4.0,
            "data": {"name": "band_pct", "old_pct": [20, 50], "new_pct": [25, 55], "reason": "therapist"},
        },
        {
            "label": "threshold_change",
            "time_s": 5.0,
            "data": {"name": "ceiling_pct", "old_pct": 30.0, "new_pct": 27.5, "reason": "therapist"},
        },
        {
            "label": "threshold_change",
            "time_s": 6.0,
            "data": {"name": "band_pct", "old_pct": [20, 50], "new_pct": [22, 52], "reason": "shaping"},
        },
        {"label": "stop", "time_s": 7.0, "data": {}},
        {"label": "rep_end", "time_s": 3.0, "data": {"result": "success"}},
    ]
    assert actions_from_events(recorded) == [
        (4.0, "threshold_change", 5.0),
        (5.0, "threshold_change", -2.5),
        (7.0, "stop", None),
    ]
    assert band_shift_pct({"name": "band_pct", "old_pct": [20, 50], "new_pct": [25, 55], "reason": "x"}) is None


def test_a_drill_started_mid_recording_replays_on_the_session_clock():
    """A drill started at session sample 437 (after a calibration), fed in the session's odd chunks, and its
    replay from that sample with the recorded stop: the same events, at the same times, to the last bit."""
    text = find_drill("reach_hold_demo").read_text()
    act = levels(FS, (2.0, 0), (1.0, 35), (2.0, 0), (3.0, 0), (2.5, 35), (4.0, 0), (2.5, 40), (3.0, 0))
    s0 = 437
    live = build(text, fs_hz=FS)
    events = []
    for i in range(0, act.shape[1], 3):  # the session's chunks; the time of each is its first sample / fs
        events += live.update((s0 + i) / FS, act[:, i : i + 3])
    events += live.stop((s0 + act.shape[1]) / FS)
    recorded = [e.to_dict() for e in events]
    replayed, _ = replay_drill(
        config_from_dict(recorded[0]["data"]["config"]),
        act,
        fs_hz=FS,
        first_sample=s0,
        actions=actions_from_events(recorded),
        stop_at_end=True,
    )
    assert [e.to_dict() for e in replayed] == recorded
    assert recorded[0]["time_s"] == s0 / FS and any(e["label"] == "rep_end" for e in recorded)
