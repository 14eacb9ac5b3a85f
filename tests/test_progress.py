"""emg.analysis.progress and `emg progress`: trends over three simulated sessions, on local processes and on Dask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from analysis_gen import write_drill_session

from emg.analysis import AnalysisSettings, analyze_many
from emg.analysis.progress import collect_progress, progress_from_results
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
    assert g["trend"]["peak_pct"]["direction"] == "improving"
    assert g["trend"]["success_rate"]["direction"] == "improving"
    assert g["trend"]["time_to_relax_s"]["direction"] == "improving"
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
    assert "patient P01 / quadriceps L" in text and "2026-01-19" in text
    html = out.read_text()
    assert "data:image/png;base64," in html and "2026-01-05" in html and "http" not in html.lower()
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["progress", str(session_dir), "--json", "-o", str(out), "--workers", "1"]) == 0
    prog = json.loads(capsys.readouterr().out)
    assert prog["groups"][0]["trend"]["peak_pct"]["direction"] == "improving"


def test_progress_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["progress", str(tmp_path / "none")]) != 0
    assert "folder not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["progress", str(tmp_path / "empty")]) != 0
    assert "no recordings found" in capsys.readouterr().err
