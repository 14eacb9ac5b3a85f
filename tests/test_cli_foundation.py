"""emg boards / record / replay / virtual-cyton from the command line, and every bad input as one line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from emg.cli import main
from emg.recordings.recording import load_recording


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_boards_lists_presets(capsys):
    code, out, _ = run_cli(capsys, "boards")
    assert code == 0
    for name in ("synthetic", "playback", "cyton", "cyton-daisy", "ganglion"):
        assert f"\n{name} " in out
    code, out, _ = run_cli(capsys, "boards", "--json")
    assert json.loads(out)["cyton"]["board_id"] == 0


def test_record_synthetic_duration_and_muscles(capsys, tmp_path):
    out_csv = tmp_path / "s.csv"
    code, out, err = run_cli(
        capsys,
        "record",
        "--board",
        "synthetic",
        "--duration",
        "2",
        "--out",
        str(out_csv),
        "--muscles",
        "vastus medialis L, vastus medialis R",
        "--quiet",
    )
    assert code == 0, err
    assert "recorded 500 samples (2.00 s)" in out
    rec = load_recording(out_csv)
    assert abs(rec.n_samples - 2 * 250) <= 0.02 * 500
    assert rec.muscles[:3] == ["vastus medialis L", "vastus medialis R", ""]


@pytest.mark.parametrize(
    "argv, code, needles",
    [
        (["record", "--board", "cytn", "--duration", "1"], 2, ["unknown board 'cytn'", "synthetic"]),
        (["record", "--board", "cyton", "--duration", "1"], 2, ["needs --serial-port"]),
        (["record", "--board", "cyton", "--serial-port", "/dev/ttyUSB97", "--duration", "1"], 3, ["does not exist"]),
        (["record", "--board", "cyton", "--serial-port", "/dev/null", "--duration", "1"], 3, ["not a serial device"]),
        (["record", "--board", "cyton", "--serial-port", "/dev/ttyUSB97", "--gain", "5"], 2, ["not an ADS1299 gain"]),
        (["record", "--board", "synthetic", "--duration", "-1"], 2, ["--duration"]),
        (["record", "--board", "synthetic", "--duration", "1", "--out", "x.txt"], 2, ["must end in .csv"]),
        (["record", "--board", "playback", "--duration", "1"], 2, ["needs a recording"]),
        (["replay", "/nonexistent/r.csv"], 4, ["not found"]),
    ],
)
def test_bad_options_are_one_line_errors(capsys, tmp_path, argv, code, needles):
    argv = [a if a != "x.txt" else str(tmp_path / "x.txt") for a in argv]
    if argv[0] == "record" and "--out" not in argv:
        argv += ["--out", str(tmp_path / "r.csv")]
    got, _, err = run_cli(capsys, *argv)
    assert got == code
    assert_one_line_error(err, *needles)
    assert not (tmp_path / "r.csv").exists()


def test_file_that_is_not_a_serial_port(capsys, tmp_path):
    fake = tmp_path / "ttyFAKE"
    fake.write_text("")
    got, _, err = run_cli(
        capsys, "record", "--board", "cyton", "--serial-port", str(fake), "--out", str(tmp_path / "r.csv")
    )
    assert got == 3
    assert_one_line_error(err, "not a serial device")


@pytest.fixture
def recorded(tmp_path):
    path = tmp_path / "base.csv"
    assert main(["record", "--board", "synthetic", "--duration", "1", "--out", str(path), "--quiet"]) == 0
    return path


@pytest.mark.parametrize(
    "damage, needles",
    [
        ("empty", ["empty"]),
        ("truncated", ["truncated"]),
        ("foreign", ["not a"]),
        ("sidecar-other-board", ["does not belong"]),
        ("no-sidecar", ["no sidecar"]),
        ("bad-sidecar", ["not valid JSON"]),
    ],
)
def test_damaged_recordings_are_one_line_errors(capsys, recorded, damage, needles):
    path = recorded
    side = path.with_suffix(".json")
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    elif damage == "foreign":
        path.write_text("time,emg\n0.0,1.5\n0.001,1.7\n")
    elif damage == "sidecar-other-board":
        meta = json.loads(side.read_text())
        meta["num_rows"] = 24
        side.write_text(json.dumps(meta))
    elif damage == "no-sidecar":
        side.unlink()
    elif damage == "bad-sidecar":
        side.write_text("{not json")
    capsys.readouterr()
    code, _, err = run_cli(capsys, "replay", "--fast", str(path))
    assert code == 4
    assert_one_line_error(err, *needles)


def test_existing_recording_is_never_overwritten(capsys, recorded):
    before = recorded.read_bytes()
    code, _, err = run_cli(capsys, "record", "--board", "synthetic", "--duration", "1", "--out", str(recorded))
    assert code == 4
    assert_one_line_error(err, "already exists")
    assert recorded.read_bytes() == before


def test_debug_shows_the_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "emg", "--debug", "replay", "/nonexistent/x.csv"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "emg", "replay", "/nonexistent/x.csv"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 4 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_virtual_cyton_command_and_record_from_it(tmp_path):
    """`emg virtual-cyton` in one process, `emg record --board cyton` in another: BrainFlow's driver between."""
    vc = subprocess.Popen(
        [sys.executable, "-m", "emg", "virtual-cyton", "--seed", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = vc.stdout.readline().strip()
        assert port.startswith("/dev/pts/")
        out = tmp_path / "cy.csv"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "emg",
                "record",
                "--board",
                "cyton",
                "--serial-port",
                port,
                "--gain",
                "8",
                "--duration",
                "2",
                "--out",
                str(out),
                "--quiet",
                "--muscles",
                "quadriceps",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        rec = load_recording(out)
        assert rec.n_samples == 500 and rec.fs_hz == 250.0 and rec.n_channels == 8
        assert rec.meta["gains"] == [8] * 8 and rec.meta["board_name"] == "cyton"
        assert rec.meta["channel_config"].startswith("x1040100X")
        assert rec.meta["dropped_packets"] == 0
        assert np.std(rec.data_uv[5]) < 10  # noise floor channel
        assert np.percentile(np.abs(rec.data_uv[0]), 99) > 100  # burst channel
    finally:
        vc.send_signal(signal.SIGINT)
        try:
            _, err = vc.communicate(timeout=10)
        finally:
            if vc.poll() is None:
                vc.kill()
    assert vc.returncode == 0 and "samples sent" in err


def test_record_from_a_board_that_dies_keeps_the_data(tmp_path, capsys):
    """The virtual Cyton is switched off mid-recording: one-line error, exit 3, samples kept, sidecar complete."""
    import threading

    from emg.acquire.virtual_cyton import VirtualCyton

    out = tmp_path / "dies.csv"
    with VirtualCyton() as vc:
        timer = threading.Timer(3.5, vc.power_off)  # about 1.5 s after streaming starts (prepare takes ~2 s)
        timer.start()
        try:
            code, stdout, err = run_cli(
                capsys, "record", "--board", "cyton", "--serial-port", vc.port, "--out", str(out), "--quiet"
            )
        finally:
            timer.cancel()
    assert code == 3
    assert_one_line_error(err, "stopped sending data")
    assert "kept " in stdout
    rec = load_recording(out)
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["complete"] is True and side["stop_reason"].startswith("error:")
    assert rec.n_samples == side["n_samples"] > 100


def test_board_switched_off_with_dongle_in(capsys, tmp_path):
    from emg.acquire.virtual_cyton import VirtualCyton

    with VirtualCyton() as vc:
        vc.power_off()
        code, _, err = run_cli(
            capsys,
            "record",
            "--board",
            "cyton",
            "--serial-port",
            vc.port,
            "--duration",
            "1",
            "--out",
            str(tmp_path / "off.csv"),
        )
    assert code == 3
    assert_one_line_error(err, "no cyton answered", "switch the board on")
    assert not (tmp_path / "off.csv").exists()
