"""The project's main job, end to end: `emg demo` headless on the virtual Cyton with the simulated patient."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

from emg.cli import main
from emg.recordings.recording import load_recording


def test_demo_headless_patient_completes_the_drill(headless_demo):
    code, printed, out = headless_demo
    assert code == 0, printed
    summary = json.loads((out / "demo.summary.json").read_text())
    # the post-operative quadriceps patient (ceiling 60 %) completes the 3-rep reach-and-hold demo drill
    assert summary["reps_attempted"] == 3 and summary["reps_succeeded"] == 3, summary["reps"]
    assert summary["calibration"]["accepted"] is True and summary["calibration_refused"] is None
    assert summary["channel_names"] == ["vastus_medialis", "biceps_femoris"]
    for rep in summary["reps"]:
        assert rep["result"] == "success"
        assert 2.0 - 0.005 <= rep["time_in_band_s"] <= 2.5  # the 2 s hold (+ dips within the dropout tolerance)
        # the patient's reaction time (0.45 s) + the envelope's and the board's delay
        assert 0.3 < rep["reaction_time_s"] < 1.5
        lo, hi = rep["band_pct"]
        assert lo <= rep["peak_pct"] <= hi + 40.0  # it reached the band; overshoot stays bounded
    lat = summary["latency_ms"]
    assert lat["n"] == summary["samples"] and 0 < lat["p50"] <= lat["p95"] <= lat["max"]
    # the recording is whole and carries the calibration and every drill event at its sample
    rec = load_recording(out / "demo.csv")
    assert rec.n_samples == summary["samples"] and rec.meta["board_name"] == "cyton"
    labels = [e.label for e in rec.events]
    assert labels.count("success") == 3 and labels.count("rep_start") == 3
    assert "calibration_done" in labels and labels.index("calibration_done") < labels.index("rep_start")
    assert rec.meta["calibration"]["channel_names"] == ["vastus_medialis", "biceps_femoris"]
    assert rec.meta["muscles"][:2] == ["vastus_medialis", "biceps_femoris"]
    assert (out / "demo.png").stat().st_size > 10_000
    assert (out / "demo.calibration.json").exists()
    # it tells the user where everything went
    assert "reps: 3 of 3 succeeded" in printed
    assert "calibration accepted" in printed and "rep 3: success" in printed  # progress lines, headless
    for name in ("demo.csv", "demo.summary.json", "demo.png"):
        assert name in printed


def test_demo_bad_options_are_one_line_errors(tmp_path, capsys):
    assert main(["demo", "--duration", "0", "--out", str(tmp_path / "d")]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --duration 0.0 is not a positive number of seconds; give e.g. --duration 30"
    )
    (tmp_path / "d2").mkdir()
    (tmp_path / "d2" / "demo.csv").write_text("")
    assert main(["demo", "--out", str(tmp_path / "d2")]) == 2
    assert "already exists" in capsys.readouterr().err
