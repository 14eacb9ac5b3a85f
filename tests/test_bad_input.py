"""Bad input on the command line: one line naming the problem and the fix, a non-zero exit, no traceback,
and nothing already recorded lost or overwritten."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emg.cli import main

HERE = Path(__file__).resolve().parent.parent


def _recording(folder: Path, name: str = "a") -> Path:
    """A short project recording (PATH.csv + PATH.json) made by `emg simulate`."""
    path = folder / f"{name}.csv"
    assert main(["simulate", "--duration", "3", "--seed", "1", "--out", str(path)]) == 0
    return path


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert lines, "no error message"
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert "Traceback" not in err and "unexpected" not in err, err
    assert lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture()
def rec(tmp_path: Path) -> Path:
    path = _recording(tmp_path)
    assert main(["analyze", str(path)]) == 0  # the fixture itself is a readable recording
    return path


def test_report_never_overwrites_the_input_recording(rec: Path, capsys) -> None:
    before = rec.read_bytes(), rec.with_suffix(".json").read_bytes()
    capsys.readouterr()
    for target in (rec, rec.with_suffix(".json")):
        assert main(["report", str(rec), "-o", str(target)]) == 2
        msg = _one_line_error(capsys.readouterr().err)
        assert "would overwrite the input recording" in msg
        assert main(["report", str(rec), "-o", str(target), "--force"]) == 2  # not even with --force
        capsys.readouterr()
    assert (rec.read_bytes(), rec.with_suffix(".json").read_bytes()) == before


def test_report_existing_folder_and_file_parent(rec: Path, capsys) -> None:
    out = rec.parent / "r.html"
    out.write_text("earlier report")
    capsys.readouterr()
    assert main(["report", str(rec), "-o", str(out)]) == 2
    assert "--force" in _one_line_error(capsys.readouterr().err)
    assert out.read_text() == "earlier report"
    assert main(["report", str(rec), "-o", str(out), "--force"]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    folder = rec.parent / "folder"
    folder.mkdir()
    assert main(["report", str(rec), "-o", str(folder)]) == 2
    assert "is a folder" in _one_line_error(capsys.readouterr().err)
    assert main(["report", str(rec), "-o", str(rec / "x.html")]) == 2
    assert "is a file, not a folder" in _one_line_error(capsys.readouterr().err)
    assert not list(rec.parent.glob("*.tmp"))


def test_analyze_out_never_overwrites_the_input(rec: Path, capsys) -> None:
    before = rec.read_bytes()
    capsys.readouterr()
    assert main(["analyze", str(rec), "-o", str(rec)]) == 2
    assert "would overwrite the input recording" in _one_line_error(capsys.readouterr().err)
    assert rec.read_bytes() == before
    out = rec.parent / "a.analysis.json"
    assert main(["analyze", str(rec), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(rec), "-o", str(out)]) == 2
    assert "--force" in _one_line_error(capsys.readouterr().err)
    assert main(["analyze", str(rec), "-o", str(rec.parent / "no" / "x.json")]) == 2
    assert "does not exist" in _one_line_error(capsys.readouterr().err)


def test_progress_output_never_replaces_a_recording(tmp_path: Path, capsys) -> None:
    rec = _recording(tmp_path)
    before = rec.read_bytes()
    assert main(["progress", str(tmp_path), "-o", str(rec), "--workers", "1"]) == 2
    assert "recordings are never overwritten" in _one_line_error(capsys.readouterr().err)
    assert rec.read_bytes() == before
    assert main(["progress", str(rec)]) == 4
    assert "is a file" in _one_line_error(capsys.readouterr().err)


def test_outputs_never_replace_another_recording_calibration_summary_or_truth(rec: Path, capsys) -> None:
    other = _recording(rec.parent, "other")
    cal = rec.parent / "cal.json"
    cal.write_text(json.dumps({"rest_floor_uv": [2.0], "rest_sd_uv": [0.5], "reference_uv": [100.0], "fs_hz": 250.0}))
    summary = rec.parent / "s1.summary.json"
    summary.write_text(json.dumps({"reps": 3}))
    protected = [
        other,
        other.with_suffix(".json"),
        rec.parent / "other.truth.npz",
        cal,
        summary,
    ]
    before = {p: p.read_bytes() for p in protected}
    capsys.readouterr()
    for target in protected:
        for cmd in (["analyze", str(rec), "-o", str(target)], ["report", str(rec), "-o", str(target)]):
            for force in ([], ["--force"]):
                assert main(cmd + force) == 2, (cmd, force)
                msg = _one_line_error(capsys.readouterr().err)
                assert str(target) in msg and "never" in msg and "-o" in msg, msg
    assert {p: p.read_bytes() for p in protected} == before
    # an ordinary earlier output is still replaced with --force
    plain = rec.parent / "plain.json"
    plain.write_text(json.dumps({"schema": "emg-analysis/1"}))
    assert main(["analyze", str(rec), "-o", str(plain), "--force"]) == 0


@pytest.mark.parametrize("content", [b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe binary", None])
def test_calibration_that_is_binary_or_a_folder(rec: Path, tmp_path: Path, capsys, content) -> None:
    cal = tmp_path / "cal.json"
    if content is None:
        cal.mkdir()
    else:
        cal.write_bytes(content)
    capsys.readouterr()
    assert main(["analyze", str(rec), "--calibration", str(cal)]) == 2
    msg = _one_line_error(capsys.readouterr().err)
    assert "not found" not in msg and ("folder" in msg or "not a text" in msg)
    from feedback.calibration_store import read_calibration
    from feedback.errors import FeedbackError

    with pytest.raises(FeedbackError, match="folder" if content is None else "not a text"):
        read_calibration(cal)


def test_workers_must_be_positive(rec: Path, capsys) -> None:
    capsys.readouterr()
    for w in ("0", "-1"):
        assert main(["analyze", str(rec), "--workers", w]) == 2
        assert "--workers" in _one_line_error(capsys.readouterr().err)


def test_demo_out_is_a_file(rec: Path, capsys) -> None:
    before = rec.read_bytes()
    capsys.readouterr()
    assert main(["demo", "--headless", "--out", str(rec)]) == 2
    assert "is a file" in _one_line_error(capsys.readouterr().err)
    assert rec.read_bytes() == before


def test_truncated_message_names_a_command_line_fix(rec: Path, tmp_path: Path, capsys) -> None:
    cut = tmp_path / "cut.csv"
    data = rec.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # cut in the middle of a line
    shutil.copy(rec.with_suffix(".json"), cut.with_suffix(".json"))
    capsys.readouterr()
    assert main(["analyze", str(cut)]) == 4
    msg = _one_line_error(capsys.readouterr().err)
    assert "truncated" in msg and "allow_truncated=True" not in msg and "--allow-truncated" in msg


def test_usage_errors_are_one_line(capsys) -> None:
    for argv in (
        ["simulate", "--mains", "55"],
        ["export", "x.csv", "--to", "nonsense", "--out", "y"],
        ["analyze", "--workers", "x", "y.csv"],
        ["nonsense"],
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert "--help" in _one_line_error(capsys.readouterr().err)


def test_usage_error_output_is_one_line_subprocess() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "emg", "simulate", "--mains", "55"], capture_output=True, text=True, cwd=HERE, timeout=60
    )
    assert p.returncode == 2
    msg = _one_line_error(p.stderr)
    assert "--mains" in msg and "--help" in msg


def test_record_keeps_recording_when_the_pipe_closes(tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    p = subprocess.Popen(
        [sys.executable, "-m", "emg", "record", "--board", "synthetic", "--duration", "2", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=HERE,
    )
    assert p.stdout is not None
    p.stdout.readline()
    p.stdout.close()  # `emg record ... | head -1`
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert b"Traceback" not in err
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["complete"] is True and meta["n_samples"] == 500


def test_virtual_cyton_link_never_replaces_a_file(rec: Path, capsys) -> None:
    before = rec.read_bytes()
    capsys.readouterr()
    assert main(["virtual-cyton", "--link", str(rec), "--duration", "0.2"]) == 2
    assert "not a symlink" in _one_line_error(capsys.readouterr().err)
    assert rec.read_bytes() == before
    assert main(["virtual-cyton", "--link", str(rec.parent / "no" / "port"), "--duration", "0.2"]) == 2
    assert "--link" in _one_line_error(capsys.readouterr().err)
    assert main(["virtual-cyton", "--duration", "-1"]) == 2
    assert "--duration" in _one_line_error(capsys.readouterr().err)


def test_bench_quick_does_not_hide_a_bad_value(capsys) -> None:
    assert main(["bench", "--seconds", "0", "--quick"]) == 2
    assert "--seconds" in _one_line_error(capsys.readouterr().err)


def test_analyze_text_names_nan_samples(tmp_path: Path, capsys) -> None:
    csv = tmp_path / "nan.csv"
    rows = ["time,ch1"] + [f"{i / 250:.4f},{'nan' if i % 50 == 0 else (i * 7919) % 13 - 6}" for i in range(1000)]
    csv.write_text("\n".join(rows) + "\n")
    assert main(["analyze", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "20 NaN/inf sample(s)" in out


def test_drills_show_binary_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "x.toml"
    bad.write_bytes(b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe")
    assert main(["drills", "--show", str(bad)]) == 2
    assert "cannot be read" in _one_line_error(capsys.readouterr().err)


def test_playback_without_file_names_the_option(tmp_path: Path, capsys) -> None:
    assert main(["record", "--board", "playback", "--duration", "1", "--out", str(tmp_path / "p.csv")]) == 2
    assert "--file" in _one_line_error(capsys.readouterr().err)


def test_serial_port_on_a_board_without_one_is_refused(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "emg",
            "record",
            "--board",
            "synthetic",
            "--serial-port",
            "/dev/ttyUSB0",
            "--duration",
            "1",
            "--out",
            str(tmp_path / "r.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "takes no serial port" in proc.stderr
    assert not (tmp_path / "r.csv").exists()


def test_record_duration_below_one_sample_ends_after_one_sample(tmp_path: Path) -> None:
    out = tmp_path / "tiny.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "emg", "record", "--board", "synthetic", "--duration", "0.001", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=30,  # it once recorded 0 samples and never stopped
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["complete"] is True and meta["n_samples"] == 1


@pytest.mark.parametrize("names", ["a,a", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,a", "x, x"])
def test_record_refuses_duplicate_channel_names(tmp_path: Path, capsys, names: str) -> None:
    out = tmp_path / "dup.csv"
    assert main(["record", "--board", "synthetic", "--duration", "0.1", "--channels", names, "--out", str(out)]) == 2
    msg = _one_line_error(capsys.readouterr().err)
    assert "twice" in msg and "--channels" in msg, msg
    assert not out.exists() and not out.with_suffix(".json").exists()
