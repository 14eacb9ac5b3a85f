"""emg.analysis.progress and `emg progress`: trends over simulated sessions (reach-and-hold and the standard
assessment), judged against the smallest detectable change; on local processes and on Dask."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from analysis_gen import write_drill_session, write_project_recording

from emg.analysis import AnalysisSettings, analyze_many
from emg.analysis.progress import collect_progress, format_table, progress_from_results, session_label
from emg.cli import main

SESSIONS = [  # (date, snr, reps succeeded, relax ramp s): a patient who gets stronger and relaxes faster
    ("2026-01-05T10:00:00+00:00", 3.0, [True, False, False, False], 1.6),
    ("2026-01-12T10:00:00+00:00", 4.5, [True, True, False, False], 1.0),
    ("2026-01-19T10:00:00+00:00", 6.0, [True, True, True, True], 0.4),
]


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sessions")
    # written out of date order: progress sorts by the recorded start time, not the name
    for k, (date, snr, ok, relax) in reversed(list(enumerate(SESSIONS))):
        write_drill_session(root / f"session_{2 - k}", snr=snr, successes=ok, relax_s=relax, start_time=date, seed=k)
    return root


def test_progress_shows_the_simulated_trend(session_dir: Path) -> None:
    prog = collect_progress(session_dir, workers=1)
    assert prog["errors"] == []
    (g,) = prog["groups"]
    assert (g["patient"], g["muscle"]) == ("P01", "quadriceps L")
    s = g["sessions"]
    assert [x["date"][:10] for x in s] == ["2026-01-05", "2026-01-12", "2026-01-19"]
    assert [x["success_rate"] for x in s] == [0.25, 0.5, 1.0]
    peaks = [x["peak_pct"] for x in s]
    # the simulated contraction level rises 3 -> 4.5 -> 6 x the 3 uV floor (30 -> 52 -> 75 % of reference at
    # its mean); the peak of each rep lies above its mean level but follows it
    assert 20 < peaks[0] < 35 < peaks[1] < 55 < peaks[2] < 120
    means = [x["mean_pct"] for x in s]
    assert means[0] < means[1] < means[2]
    assert means[2] / means[0] == pytest.approx(((6.0 * 3 - 3) / (3.0 * 3 - 3)), rel=0.35)
    relax = [x["time_to_relax_s"] for x in s]
    assert relax[0] > relax[1] > relax[2]
    assert g["trend"]["peak_pct"]["direction"] == "better"
    assert g["trend"]["success_rate"]["direction"] == "better"
    assert g["trend"]["time_to_relax_s"]["direction"] == "better"
    assert g["trend"]["success_rate"]["first"] == 0.25 and g["trend"]["success_rate"]["last"] == 1.0


def test_dask_cluster_gives_the_same_numbers(session_dir: Path) -> None:
    from distributed import LocalCluster

    paths = sorted(session_dir.glob("*.csv"))
    local = analyze_many(paths, AnalysisSettings(), workers=1)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        remote = analyze_many(paths, AnalysisSettings(), scheduler=cluster.scheduler_address)
    assert json.dumps(remote, sort_keys=True) == json.dumps(local, sort_keys=True)
    assert progress_from_results(remote, session_dir) == progress_from_results(local, session_dir)


def test_local_process_pool_matches_sequential(session_dir: Path) -> None:
    paths = sorted(session_dir.glob("*.csv"))
    seq = analyze_many(paths, workers=1)
    pool = analyze_many(paths, workers=2)
    assert json.dumps(pool, sort_keys=True) == json.dumps(seq, sort_keys=True)


def test_progress_command(session_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "prog.html"
    assert main(["progress", str(session_dir), "-o", str(out), "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "patient P01 / quadriceps L" in text and "Session 3 (19 Jan 2026)" in text
    html = out.read_text()
    assert "data:image/png;base64," in html and "Session 1 (5 Jan 2026)" in html and "http" not in html.lower()
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["progress", str(session_dir), "--json", "-o", str(out), "--force", "--workers", "1"]) == 0
    prog = json.loads(capsys.readouterr().out)
    assert prog["groups"][0]["trend"]["peak_pct"]["direction"] == "better"


def test_progress_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["progress", str(tmp_path / "none")]) != 0
    assert "folder not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["progress", str(tmp_path / "empty")]) != 0
    assert "no recordings found" in capsys.readouterr().err


# ---------------------------------------------------------------------------------- assessment sessions

#: the standard assessment, shortened so six sessions simulate and analyse in seconds (the shipped one is 440 s)
SHORT_ASSESSMENT = """
kind = "assessment"
name = "short assessment"
[target]
channel = 1
[pre_baseline]
duration_s = 3
[quick]
reps = 3
contract_s = 1.5
rest_s = 3
[holds]
reps = 6
work_s = 4
rest_s = 4
[endurance]
duration_s = 12
[post_baseline]
duration_s = 3
"""
DATES = ["2026-12-02T10:00:00+00:00", "2026-12-09T10:00:00+00:00", "2026-12-16T10:00:00+00:00"]


def write_assessment_session(path: Path, *, patient: str, session: int, seed: int, start_time: str) -> Path:
    """One assessment on the simulated patient (closed loop: the patient follows the drill's cues), recorded with
    the project's writer: 3 channels of which the session used 2 (ch3 carries no electrode), drill events, a
    calibration (the simulated rest floor and reference at the board) and ``session.channels_used``."""
    from dsp.calibration import Calibration
    from emg.simulation.engine import Simulator
    from feedback.drill_config import parse_drill
    from feedback.drills import make_drill

    fs_hz, chunk = 250.0, 25
    sim = Simulator(patient, fs_hz=fs_hz, n_channels=3, seed=seed, session=session)
    drill = make_drill(parse_drill(SHORT_ASSESSMENT), fs_hz=fs_hz, n_channels=2, channel_names=["ch1", "ch2"])
    k, xs, events = 0, [], []
    while not drill.finished:
        sim.set_cue(drill.cue)
        c = sim.generate(chunk)
        xs.append(c.exg_uv)
        for e in drill.update(k / fs_hz, 100.0 * c.activation[:2].astype(np.float64)):
            events.append({"label": e.label, "time_s": e.t_s, "data": e.data})
        k += chunk
    cal = Calibration(
        rest_floor_uv=sim.noise_floor_uv[:2].copy(),
        rest_sd_uv=np.array([0.5, 0.5]),
        reference_uv=sim.reference_uv * np.sqrt(sim.power_fraction),
        channel_names=["ch1", "ch2"],
        fs_hz=fs_hz,
        envelope="adaptive",
        kind="submax",
        reference_level_pct=100.0,
        meta={"patient": "P07"},
    )
    return write_project_recording(
        path,
        np.concatenate(xs, axis=1),
        fs_hz,
        muscles=["vastus medialis", "biceps femoris", ""],
        events=events,
        extra_meta={
            "calibration": json.loads(cal.to_json()),
            "start_time": start_time,
            "patient": "P07",
            "session": {"part": 1, "channels_used": ["ch1", "ch2"]},
        },
    )


@pytest.fixture(scope="module")
def assessment_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``rising``: a weak quadriceps whose ceiling rises 35 -> 47 -> 59 % of reference (sessions 0, 1, 2 of the
    recovering_quadriceps preset); ``unchanged``: the post-op patient at session 0 three times, other seeds."""
    root = tmp_path_factory.mktemp("assessments")
    for name, preset, sessions, seeds in (
        ("rising", "recovering_quadriceps", (0, 1, 2), (20, 21, 22)),
        ("unchanged", "post_op_quadriceps", (0, 0, 0), (31, 32, 33)),
    ):
        for i, (sess, seed) in enumerate(zip(sessions, seeds, strict=True)):
            write_assessment_session(
                root / name / f"assessment_{i + 1}", patient=preset, session=sess, seed=seed, start_time=DATES[i]
            )
    return {"rising": root / "rising", "unchanged": root / "unchanged"}


def test_assessment_progress_of_a_recovering_patient_is_better(assessment_dirs: dict[str, Path]) -> None:
    prog = collect_progress(assessment_dirs["rising"], workers=1)
    assert prog["errors"] == []
    # only the channels the sessions used (ch3 had no electrode), the trained muscle first
    assert [(g["muscle"], g["trained"]) for g in prog["groups"]] == [
        ("vastus medialis", True),
        ("biceps femoris", False),
    ]
    g = prog["groups"][0]
    assert [s["label"] for s in g["sessions"]] == [
        "Session 1 (2 Dec 2026)",
        "Session 2 (9 Dec 2026)",
        "Session 3 (16 Dec 2026)",
    ]
    assert [s["reps"] for s in g["sessions"]] == [6, 6, 6]  # the standard holds, not the quick reps
    means = [s["mean_pct"] for s in g["sessions"]]
    assert means[0] < 40 < means[1] < means[2]  # the ceiling 35 % lies below the 40-80 % band, then above it
    for key in ("peak_pct", "mean_pct", "success_rate"):
        t = g["trend"][key]
        assert t["direction"] == "better", (key, t)
        assert abs(t["change"]) > t["sdc"] > 0
        assert t["sdc"] == pytest.approx(1.96 * 2**0.5 * t["sem"], rel=1e-4)
    assert g["goal"]["band_pct"] == [40.0, 80.0] and g["goal"]["level_pct"] == 40.0
    assert all(g2["trend"]["success_rate"]["direction"] == "not measured" for g2 in prog["groups"][1:])
    text = format_table(prog)
    assert "patient P07 / vastus medialis (trained muscle)" in text and "SDC = 1.96 x sqrt(2) x SEM" in text
    assert text.index("vastus medialis") < text.index("biceps femoris")


def test_assessment_progress_of_an_unchanged_patient_is_steady(assessment_dirs: dict[str, Path]) -> None:
    prog = collect_progress(assessment_dirs["unchanged"], workers=1)
    g = prog["groups"][0]
    assert g["trained"] and g["muscle"] == "vastus medialis"
    for key in ("peak_pct", "mean_pct", "success_rate", "time_to_relax_s"):
        assert g["trend"][key]["direction"] == "steady", (key, g["trend"][key])
    # the sessions do differ (other seeds), by less than the smallest detectable change
    assert g["trend"]["time_to_relax_s"]["change"] != 0
    assert not any(v["direction"] in ("better", "worse") for g2 in prog["groups"] for v in g2["trend"].values())


def test_small_changes_are_steady_and_numbers_are_labelled() -> None:
    """Three sessions 0.04 s apart in time to relax, with 0.3 s of rep-to-rep spread, are steady."""

    def session(k: int, relax: list[float]) -> dict:
        reps = [{"channel": "ch1", "success": True, "time_to_relax_s": r, "peak_pct": 50.0 + r} for r in relax]
        return {
            "path": f"s{k}.edf",
            "start_time": DATES[k],
            "patient": "P01",
            "channels": [
                {"name": "ch1", "muscle": "VMO", "status": "ok", "activations": [], "n_activations": 0},
            ],
            "reps": reps,
        }

    spread = [0.5, 1.0, 0.8, 0.3, 0.9]
    prog = progress_from_results([session(k, [r + 0.02 * k for r in spread]) for k in range(3)])
    t = prog["groups"][0]["trend"]["time_to_relax_s"]
    assert t["change"] == pytest.approx(0.04) and t["direction"] == "steady" and t["sdc"] > 0.04
    assert prog["groups"][0]["trend"]["success_rate"]["direction"] == "steady"
    assert session_label(1, "2026-12-02T10:00:00+00:00") == "Session 1 (2 Dec 2026)"
    assert session_label(4, None) == "Session 4"


def test_progress_never_replaces_a_file_without_force(session_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "p.html"
    out.write_text("the therapist's notes")
    assert main(["progress", str(session_dir), "-o", str(out), "--workers", "1"]) != 0
    assert "already exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "the therapist's notes"
    assert main(["progress", str(session_dir), "-o", str(out), "--force", "--workers", "1"]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    recording = next(session_dir.glob("*.csv"))
    assert main(["progress", str(session_dir), "-o", str(recording.with_suffix(".json")), "--force"]) != 0
    assert "recordings are never overwritten" in capsys.readouterr().err
