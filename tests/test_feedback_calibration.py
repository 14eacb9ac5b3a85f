"""Calibration flow (rest, best of N reference contractions, refusal with a reason) and the per-patient store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dsp.calibration import Calibration
from feedback.calibration_flow import CalibrationFlow
from feedback.calibration_store import calibration_path, find_calibration, load_calibration, save_calibration
from feedback.errors import CalibrationMismatchError, FeedbackError

FS = 100.0


def flow(**kw) -> CalibrationFlow:
    args = dict(
        fs_hz=FS,
        n_channels=2,
        channel_names=["VMO", "BF"],
        rest_s=2.0,
        contraction_s=1.0,
        n_contractions=3,
        between_s=1.0,
        prepare_s=1.0,
        meta={"board": "cyton"},
    )
    args.update(kw)
    return CalibrationFlow(**args)


def envelope(levels_by_phase: dict[str, list[float]], rng: np.random.Generator) -> np.ndarray:
    """Envelope (2, n) in uV for: prepare 1 s, rest 2 s, c1 1 s, between 1 s, c2, between, c3, 0.5 s after."""
    parts = [
        ("prepare", 1.0),
        ("rest", 2.0),
        ("c1", 1.0),
        ("b", 1.0),
        ("c2", 1.0),
        ("b", 1.0),
        ("c3", 1.0),
        ("after", 0.5),
    ]
    cols = []
    for name, dur in parts:
        n = int(round(dur * FS))
        lv = np.asarray(levels_by_phase.get(name, [2.0, 3.0]), dtype=float)[:, None]
        cols.append(lv * (1 + 0.05 * rng.standard_normal((2, n))))
    return np.hstack(cols)


def feed(f: CalibrationFlow, env: np.ndarray, flags=None, chunk: int = 9) -> list:
    out = []
    for i in range(0, env.shape[1], chunk):
        out += f.update(i / FS, env[:, i : i + chunk], None if flags is None else flags[:, i : i + chunk])
    return out


def test_best_of_three_reference_and_phase_timeline():
    rng = np.random.default_rng(1)
    env = envelope({"c1": [20, 15], "c2": [30, 12], "c3": [25, 18]}, rng)
    f = flow()
    events = feed(f, env)
    phases = [(e.data["phase"], round(e.t_s, 6)) for e in events if e.label == "calibration_phase"]
    assert phases == [
        ("prepare", 0.0),
        ("rest", 1.0),
        ("contract", 3.0),
        ("between", 4.0),
        ("contract", 5.0),
        ("between", 6.0),
        ("contract", 7.0),
    ]
    assert f.finished and f.refusal is None
    assert f.best_contraction == [2, 3]  # VMO best in contraction 2, BF in contraction 3
    cal = f.calibration
    assert isinstance(cal, Calibration) and cal.channel_names == ["VMO", "BF"]
    assert cal.rest_floor_uv == pytest.approx([2.0, 3.0], rel=0.02)
    assert cal.reference_uv == pytest.approx([30.0, 18.0], rel=0.03)
    done = [e for e in events if e.label == "calibration_done"][0]
    assert done.t_s == pytest.approx(8.0)
    json.dumps([e.to_dict() for e in events])
    assert f.state.cue == "DONE" and not f.state.success  # no GOOD flash under the drill's first frames
    contract_cues = [e.data for e in events if e.label == "cue" and e.data["phase"] == "contract"]
    assert len(contract_cues) == 3 and contract_cues[0]["target_pct"] == 100.0
    assert cal.meta["board"] == "cyton" and cal.meta["best_contraction"] == [2, 3]


def test_refused_with_reason_when_reference_is_not_clearly_above_rest():
    rng = np.random.default_rng(2)
    env = envelope({"c1": [20, 3.3], "c2": [30, 3.2], "c3": [25, 3.1]}, rng)  # BF barely above rest
    f = flow()
    events = feed(f, env)
    assert f.finished and f.calibration is None
    assert "not clearly above rest on BF" in f.refusal
    assert "\n" not in f.refusal
    assert [e.label for e in events if e.label.startswith("calibration_r")] == ["calibration_refused"]
    assert f.state.cue == "REFUSED" and f.state.message == f.refusal
    f.restart()
    assert not f.finished
    feed(f, envelope({"c1": [20, 15], "c2": [30, 12], "c3": [25, 18]}, rng))
    assert f.calibration is not None


def test_flagged_samples_cannot_raise_the_reference_or_pollute_rest():
    rng = np.random.default_rng(3)
    env = envelope({"c1": [20, 15], "c2": [30, 12], "c3": [25, 18]}, rng)
    flags = np.zeros(env.shape, np.uint8)
    env[0, 750:760] = 500.0  # a motion spike in contraction 3 on VMO ...
    flags[0, 745:765] = 8  # ... flagged by dsp.quality
    env[1, 150:160] = 400.0  # a spike during rest on BF
    flags[1, 150:160] = 8
    f = flow()
    events = feed(f, env, flags)
    assert f.calibration is not None
    assert f.calibration.reference_uv[0] == pytest.approx(30.0, rel=0.03)
    assert f.calibration.rest_floor_uv[1] == pytest.approx(3.0, rel=0.03)
    assert "artefact" in [e.label for e in events]


def test_too_much_artefact_in_rest_is_refused():
    rng = np.random.default_rng(4)
    env = envelope({"c1": [20, 15], "c2": [30, 12], "c3": [25, 18]}, rng)
    flags = np.zeros(env.shape, np.uint8)
    flags[:, 100:250] = 16  # lead-off for 1.5 s of the 2 s rest
    f = flow()
    feed(f, env, flags)
    assert f.calibration is None and "of the 2 s rest was free of artefacts" in f.refusal


def test_bad_parameters_are_one_line_errors():
    with pytest.raises(Exception, match="at least 1 reference contraction"):
        flow(n_contractions=0)
    with pytest.raises(Exception, match="shorter than the 0.5 s reference window"):
        flow(contraction_s=0.2)
    with pytest.raises(Exception, match=r"expected \(2, n\)"):
        flow().update(0.0, np.zeros((3, 4)))


def test_store_round_trip_per_patient_and_muscle(tmp_path):
    rng = np.random.default_rng(5)
    f = flow()
    feed(f, envelope({"c1": [20, 15], "c2": [30, 12], "c3": [25, 18]}, rng))
    path = save_calibration(f.calibration, tmp_path, "Patient 07", "VMO left", board="cyton")
    assert path == calibration_path(tmp_path, "Patient 07", "VMO left") == tmp_path / "Patient_07" / "VMO_left.json"
    assert find_calibration(tmp_path, "Patient 07", "VMO left") == path
    assert find_calibration(tmp_path, "Patient 07", "BF") is None
    cal = load_calibration(path, channel_names=["VMO", "BF"], fs_hz=FS, board="cyton")
    assert cal.reference_uv == pytest.approx(f.calibration.reference_uv, rel=0, abs=0)
    assert cal.meta["patient"] == "Patient 07" and cal.meta["muscle"] == "VMO left"
    with pytest.raises(CalibrationMismatchError, match="made on board cyton, this session uses ganglion"):
        load_calibration(path, board="ganglion")
    with pytest.raises(CalibrationMismatchError, match="made at 100 Hz, this board runs at 250 Hz"):
        load_calibration(path, fs_hz=250.0)
    with pytest.raises(CalibrationMismatchError, match="has channels VMO, BF, this session ch1, ch2"):
        load_calibration(path, channel_names=["ch1", "ch2"])
    with pytest.raises(FeedbackError, match="not found; calibrate first"):
        load_calibration(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(FeedbackError, match="broken.json: calibration is not valid JSON"):
        load_calibration(broken)


def test_pause_restarts_the_interrupted_contraction():
    rng = np.random.default_rng(6)
    env = envelope({"c1": [20, 15], "c2": [30, 12], "c3": [25, 18]}, rng)
    f = flow()
    events = feed(f, env[:, :550])  # into contraction 2 (5.0-6.0 s) by 0.5 s
    f.paused = True  # as the session does on the space key
    assert f.update(5.5, env[:, 550:560]) == [] and f.state.paused
    f.paused = False
    # the data resumes 10 s later: contraction 2 starts again, its first half is dropped
    rest_of = np.hstack([env[:, 500:600], env[:, 600:]])
    for i in range(0, rest_of.shape[1], 9):
        events += f.update(15.5 + i / FS, rest_of[:, i : i + 9])
    resumed = [e for e in events if e.label == "resume"]
    assert len(resumed) == 1 and resumed[0].data["phase_restarted"] == "contract"
    assert resumed[0].t_s == pytest.approx(15.5)
    phases = [(e.data["phase"], round(e.t_s, 6)) for e in events if e.label == "calibration_phase"]
    assert phases[-3:] == [("contract", 15.5), ("between", 16.5), ("contract", 17.5)]
    assert f.calibration is not None and len(f._ref) == 3
    assert f.calibration.reference_uv[0] == pytest.approx(30.0, rel=0.03)


def test_calibration_stage_shows_rest_as_rest_and_the_reference_as_a_climb_to_a_goal():
    from emg.live.stages import FIRST_GOAL_X_REST, REST_READS, CalibrationStage

    rng = np.random.default_rng(3)
    env = envelope({"c1": [20, 15], "c2": [30, 12], "c3": [10, 18]}, rng)
    stage = CalibrationStage(flow())
    shown: dict[str, list[np.ndarray]] = {}
    seen = []
    for i in range(0, env.shape[1], 5):
        st = stage.flow.state
        values, _ = stage.update(i / FS, env[:, i : i + 5], None, settled=i >= 20)
        phase = stage.flow.phase if not stage.flow.finished else "done"
        seen.append((phase, st.stage, st.scale_label, st.reps_total, st.cue, st.message))
        key = f"{phase}{stage.flow.contraction}" if phase in ("contract", "between") else phase
        if i >= 30:  # settled, with a rest level from the settled chunks before
            shown.setdefault(key, []).append(values)
    level = {k: np.hstack(v).mean(axis=1) for k, v in shown.items()}
    # resting reads low and calm on the rest scale (was 98-100 % of "highest so far"), under its line
    assert level["rest"] == pytest.approx([REST_READS, REST_READS], rel=0.05)
    assert level["prepare"] == pytest.approx([REST_READS, REST_READS], rel=0.1)
    rest_states = {s[1:4] for s in seen if s[0] in ("prepare", "rest")}
    assert rest_states == {("calibration_rest", "10 = your rest level", 0)}
    # contraction 1 climbs toward a first goal of FIRST_GOAL_X_REST x rest (VMO 20 uV over a 2 uV rest)
    assert level["contract1"] == pytest.approx(
        [100 * 20 / (FIRST_GOAL_X_REST * 2), 100 * 15 / (FIRST_GOAL_X_REST * 3)], rel=0.05
    )
    # then in % of the best contraction so far: contraction 2 reads 150 / 80 of contraction 1 ...
    assert level["contract2"] == pytest.approx([150.0, 80.0], rel=0.05)
    # ... and contraction 3 is measured against the best of 1 and 2 per channel (30 uV VMO, 15 uV BF)
    assert level["contract3"] == pytest.approx([100 * 10 / 30, 100 * 18 / 15], rel=0.05)
    ref_states = {s[1:5] for s in seen if s[0] == "contract"}
    assert ref_states == {
        ("calibration_reference", "% of a first goal (10 x rest)", 0, "CONTRACT"),
        ("calibration_reference", "% of your best so far", 0, "CONTRACT"),
    }
    assert ("contract", "Contraction 2 of 3: as hard as you can") in {(s[0], s[5]) for s in seen}
    assert stage.flow.state.target_marker_pct == {0: 100.0, 1: 100.0}  # the goal, drawn on each channel
    assert stage.flow.state.stage == "calibration_reference" and not stage.flow.state.success


def test_calibration_stage_rest_line_and_no_bars_before_the_filters_settle():
    from emg.live.stages import REST_LINE, CalibrationStage

    rng = np.random.default_rng(4)
    env = envelope({}, rng)
    stage = CalibrationStage(flow())
    values, _ = stage.update(0.0, env[:, :10], None, settled=False)
    assert not values.any()
    values, _ = stage.update(0.1, env[:, 10:150], None, settled=True)
    assert stage.flow.state.thresholds_pct == {0: [REST_LINE], 1: [REST_LINE]}
    tense = stage.update(1.5, 8 * env[:, 150:160], None, settled=True)[0]  # tensing shows as a climb over the line
    assert tense.mean(axis=1) == pytest.approx([80.0, 80.0], rel=0.1) and (tense.mean(axis=1) > REST_LINE).all()
