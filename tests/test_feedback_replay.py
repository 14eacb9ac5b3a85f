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
    act = levels(FS, (2.0, 0), (1.0, 35), (2.0, 0), (3.0, 0), (2.5, 35), (4.0, 0), (2.5, 40), (3.0, 0), (2.5, 30), (1.0, 0))
    live = build(text, fs_hz=FS)
    events = run(live, act[:, :250])
    events += live.pause(2.5)  # paused for 3 s: the data keeps coming and is recorded, the drill ignores it
    events += run(live, act[:, 250:550], t0_s=2.5)
    events += live.resume(5.5)
    events += run(live, act[:, 550:], t0_s=5.5)
    recorded = json.loads(json.dumps([e.to_dict() for e in events]))
    replayed, summary = replay_drill(config_from_dict(recorded[0]["data"]["config"]), act, fs_hz=FS,
                                     actions=actions_from_events(recorded))
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
