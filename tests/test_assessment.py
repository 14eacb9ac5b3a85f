"""The assessment drill (feedback/assessment.py): phases, cues, per-rep metrics, determinism, band moves, stop."""

from __future__ import annotations

import numpy as np
import pytest

from feedback import events as ev
from feedback.assessment import QUICK_TEXT, REST_TEXT, AssessmentDrill
from feedback.drill_config import parse_drill
from feedback.drills import find_drill, load_drill, make_drill
from feedback.errors import DrillConfigError

FS = 100.0
#: a short protocol (the shipped one takes 440 s): 2 s rest, 2 quick, 3 holds, 12 s endurance, 2 s rest
SHORT = """
kind = "assessment"
name = "short assessment"
[target]
channel = 1
band_pct = [40, 80]
[pre_baseline]
duration_s = 2
[quick]
reps = 2
contract_s = 1.5
rest_s = 2
[holds]
reps = 3
work_s = 3
rest_s = 3
[endurance]
duration_s = 12
[post_baseline]
duration_s = 2
"""
PHASE_NAMES = ["pre_baseline", "quick", "holds", "endurance", "post_baseline"]


def short_drill(**kw) -> AssessmentDrill:
    drill = make_drill(parse_drill(SHORT), fs_hz=FS, n_channels=2, channel_names=["VMO", "BF"])
    assert isinstance(drill, AssessmentDrill)
    return drill


def patient(drill: AssessmentDrill, *, ceiling_pct: float, delay_s: float = 0.4, rest_pct: float = 2.0) -> np.ndarray:
    """Made-up activation (2, n) that follows the protocol's cues ``delay_s`` late: the cue's target capped at
    ``ceiling_pct`` while contracting or holding, ``rest_pct`` otherwise; channel 2 stays at rest."""
    n = int(round(drill.protocol_duration_s() * FS)) + 10
    x = np.full((2, n), rest_pct)
    start, d = 0, int(round(delay_s * FS))
    centre = 0.5 * sum(drill.band_pct)
    for seg in drill.segments:
        m = int(round(seg.duration_s * FS))
        if seg.kind in ("quick", "hold", "endurance"):
            aim = drill.quick_target_pct if seg.kind == "quick" else centre
            x[0, start + d : start + m + d] = min(aim, ceiling_pct)
        start += m
    return x


def run(drill: AssessmentDrill, x: np.ndarray, chunk: int = 10, flags: np.ndarray | None = None) -> list:
    out = []
    for i in range(0, x.shape[1], chunk):
        f = None if flags is None else flags[:, i : i + chunk]
        out += drill.update(i / FS, x[:, i : i + chunk], f)
        if drill.finished:
            break
    return out


def test_phases_come_in_order_with_their_cues() -> None:
    drill = short_drill()
    events = run(drill, patient(drill, ceiling_pct=70))
    assert drill.finished and not drill.stopped_early
    starts = [e for e in events if e.label == ev.PHASE_START]
    ends = [e for e in events if e.label == ev.PHASE_END]
    assert [e.data["name"] for e in starts] == PHASE_NAMES == [e.data["name"] for e in ends]
    assert [e.data["index"] for e in starts] == [0, 1, 2, 3, 4]
    assert [e.data["duration_s"] for e in starts] == [2.0, 7.0, 18.0, 12.0, 2.0]
    # phases follow each other without gaps, at exact sample times
    bounds = [0.0, 2.0, 9.0, 27.0, 39.0, 41.0]
    assert [e.t_s for e in starts] == pytest.approx(bounds[:-1], abs=1e-9)
    assert [e.t_s for e in ends] == pytest.approx(bounds[1:], abs=1e-9)
    assert events[-1].label == ev.DRILL_END

    def cues_in(name: str) -> list[tuple[str, str]]:
        t0 = next(e.t_s for e in starts if e.data["name"] == name)
        t1 = next(e.t_s for e in ends if e.data["name"] == name)
        return [(e.data["phase"], e.data["text"]) for e in events if e.label == ev.CUE and t0 <= e.t_s < t1]

    assert cues_in("pre_baseline") == [("rest", REST_TEXT)]
    assert cues_in("post_baseline") == [("rest", REST_TEXT)]
    assert cues_in("quick") == [("contract", QUICK_TEXT), ("relax", "RELAX")] * 2
    assert cues_in("holds") == [("contract", "CONTRACT"), ("hold", "HOLD"), ("relax", "RELAX")] * 3
    assert cues_in("endurance") == [("hold", "HOLD")]
    reps = [(e.data["phase"], e.data["set"], e.data["rep"]) for e in events if e.label == ev.REP_START]
    assert reps == [("quick", 1, 1), ("quick", 1, 2)] + [("holds", 2, k) for k in (1, 2, 3)] + [("endurance", 3, 1)]


def test_rep_metrics_follow_the_nu_tek_rules() -> None:
    drill = short_drill()
    run(drill, patient(drill, ceiling_pct=70, delay_s=0.4))
    s = drill.summary()
    quick, holds, endurance = s["reps"][:2], s["reps"][2:5], s["reps"][5]
    for r in quick:  # target 100 capped at 70: peak 70 after 0.4 s; the relax cue -> at rest 0.4 s later
        assert r["result"] == "success" and r["peak_pct"] == 70.0
        assert r["onset_time_s"] == pytest.approx(0.4) and r["time_to_peak_s"] == pytest.approx(0.4)
        assert r["release_time_s"] == pytest.approx(0.4) and r["release_slow"] is False
    for r in holds:  # aim at the band's centre (60): in the band from 0.4 s, counted after the first 1 s
        assert r["result"] == "success" and r["in_band_fraction"] == 1.0
        assert r["work_mean_pct"] == 60.0 and r["work_sd_pct"] == 0.0 and r["rest_mean_pct"] == 2.0
        assert r["time_in_band_s"] == pytest.approx(2.0) and r["longest_in_band_s"] == pytest.approx(2.6)
        assert r["release_time_s"] == pytest.approx(0.4) and r["time_to_relax_s"] == r["release_time_s"]
    # onset: rep 1 against 75 % of the band's low edge, later reps against 75 % of the previous work mean
    assert [r["onset_level_pct"] for r in holds] == [30.0, 45.0, 45.0]
    assert endurance["result"] == "success" and endurance["decline_pct"] == 0.0
    assert endurance["first_mean_pct"] == endurance["last_mean_pct"] == 60.0
    phases = {p["name"]: p for p in s["phases"]}
    assert phases["pre_baseline"]["mean_pct"] == 2.0 and phases["post_baseline"]["sd_pct"] == 0.0
    assert phases["holds"]["success_rate"] == 1.0 and phases["holds"]["reps_attempted"] == 3
    assert (s["reps_planned"], s["reps_attempted"], s["reps_succeeded"]) == (6, 6, 6)


def test_a_weak_patient_fails_with_a_reason() -> None:
    drill = short_drill()
    events = run(drill, patient(drill, ceiling_pct=30))
    s = drill.summary()
    assert [r["result"] for r in s["reps"]] == ["failure"] * 6
    reasons = [e.data["reason"] for e in events if e.label == ev.FAILURE]
    assert reasons[0] == "peak 30 % stayed below 40 %"
    assert reasons[2] == "in the band 0 % of the time (needs 70 %)"
    assert s["success_rate"] == 0.0


def test_same_activation_gives_the_same_events_whatever_the_chunking() -> None:
    x = patient(short_drill(), ceiling_pct=55, delay_s=0.37)
    x[0] += np.random.default_rng(3).normal(0, 4, x.shape[1])
    runs = []
    for chunk in (1, 7, 64):
        drill = short_drill()
        runs.append([e.to_dict() for e in run(drill, x, chunk)])
    assert runs[0] == runs[1] == runs[2]


def test_artefacts_void_a_rep() -> None:
    drill = short_drill()
    x = patient(drill, ceiling_pct=70)
    flags = np.zeros(x.shape, dtype=np.uint8)
    flags[0, int(9.5 * FS) : int(11 * FS)] = 1  # railed during the first hold's work (9-12 s)
    events = run(drill, x, flags=flags)
    results = [r["result"] for r in drill.summary()["reps"]]
    assert results[2] == "void" and results.count("success") == 5
    assert any(e.label == ev.REP_VOID for e in events)


def test_therapist_moves_the_band() -> None:
    drill = short_drill()
    x = patient(drill, ceiling_pct=70)
    run(drill, x[:, : int(10 * FS)])
    events = drill.shift_band(10.0, 10.0)
    assert [(e.label, e.data) for e in events if e.label == ev.THRESHOLD_CHANGE] == [
        (ev.THRESHOLD_CHANGE, {"name": "band_pct", "old_pct": 40.0, "new_pct": 50.0, "reason": "therapist"})
    ]
    assert drill.band_pct == (50.0, 90.0) and drill.state.bands_pct[0] == (50.0, 90.0)
    assert drill.cue.band_pct == (50.0, 90.0)  # the running hold asks for the new band at once
    assert drill.shift_band(10.0, -100.0)[0].data["new_pct"] == 11.0  # never down to the rest threshold
    drill.shift_band(10.0, 500.0)
    assert drill.band_pct == (160.0, 200.0)
    assert drill.shift_band(10.0, 5.0) == []


def test_stop_closes_the_running_phase() -> None:
    drill = short_drill()
    x = patient(drill, ceiling_pct=70)
    run(drill, x[:, : int(10.5 * FS)])  # inside the first hold
    events = drill.stop(10.5)
    labels = [e.label for e in events]
    assert labels == [ev.STOP, ev.REP_END, ev.PHASE_END, ev.CUE, ev.DRILL_END]
    s = events[-1].data["summary"]
    assert s["stopped_early"] and [p["name"] for p in s["phases"]] == ["pre_baseline", "quick", "holds"]
    assert s["reps"][-1]["result"] == "void" and s["reps_attempted"] == 2


def test_state_tells_the_phase_and_what_comes_next() -> None:
    drill = short_drill()
    x = patient(drill, ceiling_pct=70)
    run(drill, x[:, :50])
    st = drill.state
    assert st.stage == "drill" and st.cue == REST_TEXT and st.countdown_s == pytest.approx(1.51)
    assert st.message == "Phase 1 of 5: Rest baseline; next: quick contractions (2)"
    assert st.bands_pct == {0: (40.0, 80.0)} and st.thresholds_pct == {0: [10.0]} and st.reps_planned == 6
    run_to = int(15.5 * FS)  # holds: 9-15 s rep 1, 15-21 s rep 2
    drill2 = short_drill()
    run(drill2, x[:, :run_to])
    assert drill2.state.message == "Phase 3 of 5: Holds 2 of 3; next: endurance hold"
    assert drill2.state.reps_total == 3 and drill2.state.rep == 2


def test_shipped_protocol_and_its_checks() -> None:
    cfg = load_drill(find_drill("assessment"))
    drill = make_drill(cfg, fs_hz=250.0, n_channels=8)
    assert drill.protocol_duration_s() == 440.0
    assert cfg.params["holds"] == {"reps": 10, "work_s": 10.0, "rest_s": 10.0}
    assert cfg.params["pre_baseline"]["duration_s"] == cfg.params["post_baseline"]["duration_s"] == 60.0
    assert "10 x (10 s hold in 40-80 %" in cfg.describe()
    with pytest.raises(DrillConfigError, match="rest_threshold_pct .* must be below the band's low edge"):
        parse_drill(SHORT.replace("band_pct = [40, 80]", "band_pct = [40, 80]\nrest_threshold_pct = 45"))
    with pytest.raises(DrillConfigError, match=r"line \d+: \[holds\] work is an unknown field"):
        parse_drill(SHORT.replace("work_s = 3", "work = 3"))
    with pytest.raises(DrillConfigError, match="exclude_s"):
        parse_drill(SHORT + "[scoring]\nexclude_s = 2.5\n")
