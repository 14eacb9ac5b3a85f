"""Closed loop with the simulated patient (emg.simulation.PatientModel) following the published cues."""

from __future__ import annotations

import pytest
from test_drills_script import build

from emg.simulation.patient import PatientModel
from feedback.drills import make_drill

FS = 250.0


def run_patient(drill, patient: PatientModel, *, chunk: int = 10, limit_s: float = 120.0):
    last, t, events = None, 0.0, []
    while not drill.finished and t < limit_s:
        if drill.cue != last:
            patient.set_cue(drill.cue)
            last = drill.cue
        activation, _ = patient.step(chunk)
        events += drill.update(t, activation * 100.0)
        t += chunk / FS
    return events


@pytest.mark.parametrize("preset", ["healthy", "post_op_quadriceps"])
def test_patient_completes_the_demo_drill(preset):
    patient = PatientModel(preset, FS, seed=7)
    drill = make_drill("reach_hold_demo", fs_hz=FS, n_channels=patient.n_muscles)
    run_patient(drill, patient)
    s = drill.summary()
    assert drill.finished and (s["reps_attempted"], s["reps_succeeded"]) == (3, 3)
    reaction = [r["reaction_time_s"] for r in s["reps"]]
    expected = patient.preset.response.reaction_time_s
    assert all(expected < rt < expected + 0.5 for rt in reaction)
    assert all(r["time_to_relax_s"] is not None and r["time_to_relax_s"] < 2.0 for r in s["reps"])
    # the patient only ever received the drill's own cues
    phases = [c.phase for c in patient.cues]
    distinct = [p for i, p in enumerate(phases) if i == 0 or p != phases[i - 1]]
    assert distinct[:4] == ["rest", "contract", "hold", "relax"]


def test_shaping_brings_an_unreachable_band_within_a_weak_patients_reach():
    # post-op ceiling is about 56 % of reference: a 60-80 % band is out of reach until shaping lowers it
    drill = build(
        """
kind = "reach_hold"
name = "too hard"
[target]
channel = 1
band_pct = [60, 80]
hold_s = 1.5
[protocol]
reps = 5
work_s = 4
rest_s = 2
start_delay_s = 1
rest_threshold_pct = 10
[shaping]
enabled = true
step_pct = 15
lower_after = 2
raise_after = 3
min_pct = 20
max_pct = 100
""",
        fs_hz=FS,
        n_channels=2,
    )
    patient = PatientModel("post_op_quadriceps", FS, seed=3, fatigue=False)
    events = run_patient(drill, patient)
    assert [r["result"] for r in drill.summary()["reps"]] == ["failure", "failure", "success", "success", "success"]
    assert [e.data["new_pct"] for e in events if e.label == "threshold_change"] == [45.0, 60.0]


ISOLATION = """
kind = "isolation"
name = "quadriceps without hamstrings"
[target]
channel = 1
band_pct = [30, 60]
hold_s = 2.0
[quiet]
channel = 2
max_pct = 15
[protocol]
reps = 3
work_s = 6
rest_s = 2
start_delay_s = 1
rest_threshold_pct = 10
"""


@pytest.mark.parametrize("preset, successes", [("healthy", 3), ("overactive_antagonist", 0)])
def test_isolation_separates_a_cocontracting_patient(preset, successes):
    patient = PatientModel(preset, FS, seed=2)
    drill = build(ISOLATION, fs_hz=FS, n_channels=patient.n_muscles)
    run_patient(drill, patient)
    s = drill.summary()
    assert (s["reps_attempted"], s["reps_succeeded"]) == (3, successes)
    over = [r["quiet_over_s"] for r in s["reps"]]
    if successes == 0:
        assert all(x > 4.0 for x in over)  # the hamstrings fired over their ceiling most of the 6 s
    else:
        assert all(x == 0.0 for x in over)
