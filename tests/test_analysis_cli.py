"""`emg analyze`: text and --json output, folders, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from analysis_gen import contractions, write_project_recording

from emg.cli import main

DOCUMENTED_TOP = {
    "schema",
    "software_version",
    "path",
    "source_format",
    "start_time",
    "patient",
    "sampling_rate",
    "duration_s",
    "n_samples",
    "units",
    "settings",
    "quality",
    "channels",
    "cocontraction",
    "symmetry",
    "reps",
    "drill",
}
DOCUMENTED_CHANNEL = {
    "index",
    "name",
    "muscle",
    "status",
    "reason",
    "n_activations",
    "n_confident",
    "activations",
    "noise_floor",
    "noise_floor_envelope",
    "calibration",
    "quality",
    "fatigue",
}


@pytest.fixture(scope="module")
def two_recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    for k in range(2):
        g = contractions(250.0, 30, n_contractions=3, n_channels=2, seed=20 + k)
        write_project_recording(root / f"r{k}", g.x_uv, 250.0, channel_names=["vl", "vm"])
    return root


def test_json_output_follows_the_documented_schema(two_recordings: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["analyze", str(two_recordings / "r0.csv"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert DOCUMENTED_TOP <= set(res)
    assert res["schema"] == "emg-analysis/1" and res["sampling_rate"] == 250.0 and res["duration_s"] == 30.0
    for ch in res["channels"]:
        assert DOCUMENTED_CHANNEL <= set(ch)
        assert ch["n_activations"] == 3
        for a in ch["activations"]:
            assert {"onset_s", "offset_s", "duration_s", "peak", "mean", "ratio_to_rest", "confident"} <= set(a)
    doc = (Path(__file__).resolve().parents[1] / "docs" / "ANALYSIS_JSON.md").read_text()
    for key in DOCUMENTED_TOP | DOCUMENTED_CHANNEL:
        assert f"`{key}`" in doc


def test_text_output_and_out_file(two_recordings: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "a.json"
    assert main(["analyze", str(two_recordings / "r1.csv"), "--channels", "vm", "--mains", "50", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "[vm] ok" in text and "3 activation(s)" in text and "mains 50 Hz (option)" in text and "[vl]" not in text
    assert json.loads(out.read_text())["channels"][0]["name"] == "vm"


def test_folder_is_analysed_in_order(two_recordings: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["analyze", str(two_recordings), "--json", "--workers", "1", "--no-progress"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [Path(r["path"]).name for r in res] == ["r0.csv", "r1.csv"]


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["analyze", "/nonexistent/file.csv"], 4, "not found"),
        (["analyze", "{rec}", "--channels", "x9"], 2, "unknown channel 'x9'"),
        (["analyze", "{rec}", "--mains", "55"], 2, "--mains '55'"),
        (["analyze", "{rec}", "--calibration", "/nonexistent/cal.json"], 2, "calibration file not found"),
    ],
)
def test_bad_options_one_line_errors(
    two_recordings: Path, capsys: pytest.CaptureFixture, args: list[str], code: int, words: str
) -> None:
    args = [a.replace("{rec}", str(two_recordings / "r0.csv")) for a in args]
    assert main(args) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and err.count("\n") == 1


def test_nothing_analysable_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = tmp_path / "zeros.csv"
    t = np.arange(2000) / 1000.0
    np.savetxt(p, np.column_stack([t, np.zeros_like(t)]), delimiter=",", header="time,a", comments="")
    assert main(["analyze", str(p)]) == 4
    assert "no usable channel: a: flat channel" in capsys.readouterr().err


def test_folder_with_a_bad_file_still_reports_the_good_ones(
    two_recordings: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "broken.csv").write_bytes(b"\x00\x01garbage" * 50)
    g = contractions(250.0, 20, n_contractions=2, seed=3)
    write_project_recording(folder / "good", g.x_uv, 250.0)
    assert main(["analyze", str(folder), "--json", "--workers", "1"]) == 4
    captured = capsys.readouterr()
    res = {Path(r["path"]).name: r for r in json.loads(captured.out)}
    assert "binary" in res["broken.csv"]["error"] and res["good.csv"]["channels"][0]["n_activations"] == 2
    assert "1 of 2 recording(s) could not be analysed" in captured.err


def test_scheduler_without_dask_is_one_line_naming_the_extra(monkeypatch, capsys) -> None:
    """Dask is the optional extra ``cluster``: without it, --scheduler says how to install it, in one line."""
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError
    sample = str(Path(__file__).resolve().parents[1] / "recordings" / "samples" / "cyton-virtual-patient-20s.csv")
    code = main(["analyze", sample, sample, "--scheduler", "tcp://127.0.0.1:1", "--json"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == "error: --scheduler needs Dask: pip install -e '.[cluster]'"
