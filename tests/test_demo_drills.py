"""`emg demo --headless --drill NAME` for every shipped drill: a fitting simulated patient completes the planned reps.

The demo runs in real time (a simulated patient on the virtual Cyton), so each drill runs one rep (`--reps 1`) and
the drills run side by side as separate `emg demo` processes (each with its own virtual Cyton), two at a time
(more starve the virtual Cytons on a 2-core machine): the whole file takes about two minutes. Long protocols
without reps to cut (the assessment) are cut with `--duration` and checked for a clean stop instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from emg.live.demo import demo_plan, drill_channels, with_reps
from feedback.drills import load_drill, shipped_drills

pytestmark = pytest.mark.slow

#: drills whose protocol has no reps to set are cut after this many seconds of data
CUT_S = 20.0
PARALLEL = 2


def _cut(name: str) -> bool:
    """True for a drill that --reps cannot shorten (no [protocol] reps, no [[blocks]])."""
    cfg = load_drill(Path(name))
    return with_reps(cfg, 1) is cfg


def _run(drill: Path, out: Path) -> tuple[subprocess.CompletedProcess, bool]:
    cut = _cut(str(drill))
    args = [sys.executable, "-m", "emg", "demo", "--headless", "--drill", drill.stem, "--out", str(out)]
    args += ["--duration", str(CUT_S)] if cut else ["--reps", "1"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=240)
    return proc, cut


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_drills")
    drills = shipped_drills()
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda d: _run(d, root / d.stem), drills))
    return {d.stem: (root / d.stem, proc, cut) for d, (proc, cut) in zip(drills, results, strict=True)}


@pytest.mark.parametrize("drill", [d.stem for d in shipped_drills()])
def test_every_shipped_drill_runs_in_the_demo(demo_runs, drill):
    out, proc, cut = demo_runs[drill]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cfg = load_drill(shipped_drills()[[d.stem for d in shipped_drills()].index(drill)])
    # it says what it runs
    assert f"calibration, then {cfg.name}: " in proc.stdout
    summary = json.loads((out / "demo.summary.json").read_text())
    assert summary["calibration"]["accepted"] is True, summary["calibration"]
    if cut:
        assert summary["stop_reason"] == f"duration {CUT_S:g} s reached"
        assert summary["stopped_early"] is True and summary["board_lost"] is False
    else:
        assert summary["stop_reason"] == "drill completed", summary["stop_reason"]
        assert summary["reps_planned"] == 1 and summary["reps_attempted"] == summary["reps_planned"]
        assert summary["stopped_early"] is False
    assert (out / "demo.png").stat().st_size > 10_000
    # the montage fits the drill: every channel it names is one of the patient's muscles
    highest, _ = drill_channels(cfg)
    assert highest <= summary["n_channels"]


def test_demo_patient_fits_the_drill_kind():
    assert demo_plan("symmetry_quadriceps").muscles == ["vastus_medialis_L", "vastus_medialis_R"]
    assert demo_plan("isolation_vmo_vs_hamstrings").muscles == ["vastus_medialis", "biceps_femoris"]
    assert demo_plan("downtrain_upper_trapezius").muscles[1].startswith("upper_trapezius")
    assert demo_plan("balance_single_leg").patient == "unstable_balance"
    plan = demo_plan("reach_hold_quadriceps", reps=2)
    assert plan.config.params["protocol"]["reps"] == 2 and plan.config.params["protocol"]["sets"] == 1
    aware = demo_plan("awareness_fading", reps=8).config.params["blocks"]
    assert [b["trials"] for b in aware] == [6, 2]


def test_demo_patient_answers_awareness_questions(demo_runs):
    out, proc, _ = demo_runs["awareness_fading"]
    summary = json.loads((out / "demo.summary.json").read_text())
    (rep,) = summary["reps"]
    # the simulated patient keyed in its own estimate (not the timeout): close to what it reached, not exact
    assert rep["estimate_pct"] is not None and rep["result"] in ("success", "failure")
    assert abs(rep["error_pct"]) < 40


def test_a_patient_without_the_drills_channels_is_one_line(tmp_path, capsys):
    from emg.cli import main

    drill = tmp_path / "three.toml"
    drill.write_text(
        'kind = "reach_hold"\nname = "Third channel"\n[target]\nchannel = 3\nband_pct = [20, 40]\nhold_s = 1\n'
    )
    assert main(["demo", "--drill", str(drill), "--sim-patient", "healthy", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "uses channel 3, but simulated patient healthy has 2 muscles" in err[0]
    assert not (tmp_path / "o").exists()
