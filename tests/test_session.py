"""The session loop on real BrainFlow boards: recording, events, summary, PNG, bad input, a lost board."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from dsp.calibration import Calibration
from emg.acquire.acquisition import Acquisition
from emg.acquire.boards import get_preset
from emg.cli import main
from emg.live.display import headless_needed
from emg.live.session import Session
from emg.recordings.recording import load_recording
from emg.recordings.writer import part_path
from feedback.calibration_store import check_calibration_fits, read_calibration
from feedback.drills import make_drill, parse_drill
from feedback.errors import CalibrationMismatchError, FeedbackError

QUICK_DRILL = """
kind = "reach_hold"
name = "Session test"
[target]
channel = 1
band_pct = [30, 60]
hold_s = 1.0
[protocol]
reps = 2
rest_s = 1.0
start_delay_s = 0.5
work_s = 2.0
"""


def _calibration(board: str, names: list[str] | None = None, fs_hz: float = 250.0) -> Calibration:
    names = names or get_preset(board).channel_names()
    n = len(names)
    return Calibration(
        rest_floor_uv=np.full(n, 2.0),
        rest_sd_uv=np.full(n, 0.5),
        reference_uv=np.full(n, 80.0),
        channel_names=names,
        fs_hz=fs_hz,
        meta={"board": board},
    )


def _write_cal(path: Path, cal: Calibration) -> Path:
    path.write_text(cal.to_json(), encoding="utf-8")
    return path


def test_train_cli_on_synthetic_board_records_events_summary_png(tmp_path, capsys):
    cal = _write_cal(tmp_path / "cal.json", _calibration("synthetic"))
    drill = tmp_path / "drill.toml"
    drill.write_text(QUICK_DRILL)
    out = tmp_path / "s1.csv"
    code = main(
        [
            "train",
            "--board",
            "synthetic",
            "--drill",
            str(drill),
            "--calibration",
            str(cal),
            "--headless",
            "--duration",
            "2.5",
            "--out",
            str(out),
            "--latency-report",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "sample to screen" in printed and "p95" in printed
    summary = json.loads((tmp_path / "s1.summary.json").read_text())
    rec = load_recording(out)
    # the recording is whole and matches what the session processed
    assert rec.n_samples == summary["samples"] and summary["samples"] >= int(2.5 * 250)
    assert summary["n_channels"] == 16 and summary["channels_used"] == list(range(1, 17))
    labels = [e.label for e in rec.events]
    assert labels[0] == "drill_start" and "cue" in labels and labels[-1] == "drill_end"
    assert "stop" in labels  # the duration ended the drill early: recorded as a stop
    assert summary["stop_reason"] == "duration 2.5 s reached"
    # every event sits on a sample of the recording, at the drill's clock
    for ev in rec.events:
        assert 0 <= ev.sample < rec.n_samples
    cue = next(e for e in rec.events if e.label == "cue")
    assert cue.data["phase"] in ("rest", "contract", "relax", "hold")
    lat = summary["latency_ms"]
    assert lat["n"] == summary["samples"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["max"] < 5000
    assert summary["processing_ms"]["n"] > 0 and summary["frames"] > 0
    assert rec.meta["drill"]["name"] == "Session test"
    assert rec.meta["calibration"]["reference_uv"][0] == 80.0
    assert "band-pass" in rec.meta["filters"]["design"]
    from PySide6 import QtGui

    img = QtGui.QImage(str(tmp_path / "s1.png"))
    assert img.width() == 1280 and img.height() == 720


def test_calibration_from_another_layout_or_board_is_refused(tmp_path):
    names = get_preset("synthetic").channel_names()

    def fits(cal: Calibration, envelope: str = "adaptive") -> None:
        check_calibration_fits(cal, channel_names=names, fs_hz=250.0, board="synthetic", envelope=envelope)

    fits(_calibration("synthetic"))
    with pytest.raises(CalibrationMismatchError, match="calibration has 8 channels, this session 16"):
        fits(_calibration("synthetic", get_preset("cyton").channel_names()))
    with pytest.raises(CalibrationMismatchError, match="made on board cyton-daisy"):
        fits(_calibration("cyton-daisy", names))
    with pytest.raises(CalibrationMismatchError, match="made at 125 Hz"):
        fits(_calibration("synthetic", fs_hz=125.0))
    with pytest.raises(CalibrationMismatchError, match="calibrate again with this montage"):
        fits(_calibration("synthetic", [f"m{i}" for i in range(16)]))
    with pytest.raises(CalibrationMismatchError, match="used the adaptive envelope, this session the rms envelope"):
        fits(_calibration("synthetic"), envelope="rms")
    with pytest.raises(FeedbackError, match="calibration file .* not found"):
        read_calibration(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FeedbackError, match="bad.json.*not valid JSON"):
        read_calibration(tmp_path / "bad.json")


def test_train_cli_refuses_a_foreign_calibration_and_closes_the_recording(tmp_path, capsys):
    cal = _write_cal(tmp_path / "cal8.json", _calibration("cyton"))
    out = tmp_path / "x.csv"
    code = main(
        [
            "train",
            "--board",
            "synthetic",
            "--drill",
            "reach_hold_demo",
            "--calibration",
            str(cal),
            "--headless",
            "--duration",
            "1",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        "error: calibration was made on board cyton, this session uses synthetic; calibrate again on this board"
    ]
    # the board was released and the (empty) recording closed, not left half-written
    rec = load_recording(out)
    assert rec.meta["complete"] is True


def test_bad_train_options_are_one_line_errors(tmp_path, capsys):
    assert main(["train", "--board", "synthetic", "--drill", "no_such_drill", "--headless"]) == 2
    assert "drill 'no_such_drill' not found" in capsys.readouterr().err
    assert main(["train", "--board", "synthetic", "--drill", "reach_hold_demo", "--duration", "-3"]) == 2
    assert "--duration -3.0 is not a positive number" in capsys.readouterr().err
    assert main(["train", "--board", "synthetic", "--drill", "reach_hold_demo", "--channels-used", "1,x"]) == 2
    assert "'x' is not a channel number" in capsys.readouterr().err


def test_board_lost_mid_session_keeps_recording_and_ends_cleanly(tmp_path):
    from emg.acquire.virtual_cyton import VirtualCyton

    cfg = parse_drill(QUICK_DRILL)
    with VirtualCyton() as vc:

        def acquire(part, path):
            return Acquisition("cyton", serial_port=vc.port, record_to=path)

        session = Session(
            acquire,
            lambda fs, n, names: make_drill(cfg, fs_hz=fs, n_channels=n, channel_names=names),
            _calibration("cyton"),
            record_to=tmp_path / "lost.csv",
            headless=True,
        )
        done = threading.Event()

        def pull_the_dongle() -> None:  # once 1 s of data went through the session
            while not done.is_set() and session.samples_total < 250:
                done.wait(0.02)
            vc.kill()

        killer = threading.Thread(target=pull_the_dongle, daemon=True)
        killer.start()
        try:
            result = session.run()
        finally:
            done.set()
            killer.join(5)
    s = result.summary
    assert result.board_lost and s["board_lost"] is True
    assert "stopped sending data" in s["board_error"]
    assert s["stop_reason"].startswith("board lost")
    rec = load_recording(tmp_path / "lost.csv")
    assert rec.meta["complete"] is True
    assert rec.n_samples == s["samples"] and 250 <= rec.n_samples <= 2.0 * 250
    labels = [e.label for e in rec.events]
    # the drill was paused at the loss and ended cleanly; those events reached the sidecar too
    assert labels[0] == "drill_start"
    assert labels[-5:] == ["pause", "board_lost", "stop", "cue", "drill_end"], labels[-6:]
    assert session.view.status_label.text().startswith("BOARD LOST")
    assert result.frame_png is not None and result.frame_png.exists()


def test_part_paths_and_headless_detection(monkeypatch):
    assert part_path(Path("a/b.csv"), 1) == Path("a/b.csv")
    assert part_path(Path("a/b.csv"), 3) == Path("a/b.part3.csv")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("DISPLAY", ":0")
    assert headless_needed() is True
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert headless_needed() is False
    assert headless_needed(asked=True) is True
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert headless_needed() is True


def test_board_lost_then_reconnected_continues_in_a_second_part(tmp_path):
    """Windowed policy: the session waits; R reconnects (new recording part), Esc ends it cleanly."""
    from emg.acquire.virtual_cyton import VirtualCyton

    cfg = parse_drill(QUICK_DRILL.replace("reps = 2", "reps = 20"))
    boards = [VirtualCyton().start()]

    def acquire(part, path):
        return Acquisition("cyton", serial_port=boards[-1].port, record_to=path)

    session = Session(
        acquire,
        lambda fs, n, names: make_drill(cfg, fs_hz=fs, n_channels=n, channel_names=names),
        _calibration("cyton"),
        record_to=tmp_path / "r.csv",
        headless=True,
        lost_policy="wait",
    )
    done = threading.Event()

    def therapist() -> None:
        while not done.is_set() and session.samples_total < 250:
            done.wait(0.02)
        boards[-1].kill()  # the dongle is pulled
        while not done.is_set() and not session.board_lost:
            done.wait(0.02)
        boards.append(VirtualCyton().start())  # plugged in again
        session.view.resume_requested.emit()  # R (queued to the session's thread)
        while not done.is_set() and (session.part < 2 or session.board_lost or session.samples_total < 500 + 250):
            done.wait(0.02)
        session.view.stop_requested.emit()  # Esc

    helper = threading.Thread(target=therapist, daemon=True)
    helper.start()
    try:
        result = session.run()
    finally:
        done.set()
        helper.join(10)
        for b in boards:
            b.close()
    s = result.summary
    assert s["stop_reason"] == "stopped by the user (Esc)"
    assert [Path(p).name for p in s["recordings"]] == ["r.csv", "r.part2.csv"]
    part1, part2 = load_recording(tmp_path / "r.csv"), load_recording(tmp_path / "r.part2.csv")
    assert part1.n_samples + part2.n_samples == s["samples"]
    l1 = [e.label for e in part1.events]
    l2 = [e.label for e in part2.events]
    assert l1[0] == "drill_start" and l1[-2:] == ["pause", "board_lost"]
    assert l2[:2] == ["resume", "board_reconnected"] and l2[-1] == "drill_end" and "stop" in l2
    assert part2.meta["session"]["continues"] == "r.csv"
    assert s["board_lost"] is True  # it happened, even though the session went on


AWARENESS = """
kind = "awareness"
name = "Awareness test"
[target]
channel = 1
levels_pct = [30]
aim_s = 1.0
measure_s = 0.5
estimate_timeout_s = 10.0
reveal_s = 0.5
tolerance_pct = 10.0
[[blocks]]
trials = 1
feedback_every = 1
[protocol]
rest_s = 0.5
start_delay_s = 0.5
"""


def test_awareness_estimate_keyed_in_reaches_the_drill_and_the_recording(tmp_path):
    cfg = parse_drill(AWARENESS)
    session = Session(
        lambda part, path: Acquisition("synthetic", record_to=path),
        lambda fs, n, names: make_drill(cfg, fs_hz=fs, n_channels=n, channel_names=names),
        _calibration("synthetic"),
        record_to=tmp_path / "aw.csv",
        headless=True,
        duration_s=8.0,
    )
    done = threading.Event()

    def patient() -> None:  # waits for the question, then keys "42" Enter
        while not done.is_set() and getattr(session.drill, "phase", "") != "estimate":
            done.wait(0.02)
        session.view.estimate_entered.emit(42.0)

    helper = threading.Thread(target=patient, daemon=True)
    helper.start()
    try:
        result = session.run()
    finally:
        done.set()
        helper.join(5)
    assert result.summary["stop_reason"] == "drill completed"
    rec = load_recording(tmp_path / "aw.csv")
    est = [e for e in rec.events if e.label == "estimate"]
    assert len(est) == 1 and est[0].data["estimate_pct"] == 42.0
    assert [e.label for e in rec.events].count("reveal") == 1


def test_synthetic_board_without_calibration_is_one_line(tmp_path, capsys):
    """The synthetic board's fixed sine waves have no rest or contraction: said in one line, before recording."""
    out = tmp_path / "c.csv"
    code = main(["train", "--board", "synthetic", "--drill", "reach_hold_demo", "--headless", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "streams fixed sine waves" in err[0] and "--calibration FILE" in err[0] and "emg demo" in err[0]
    assert not out.exists()


def test_calibration_refused_on_a_resting_patient_in_a_few_lines_once(tmp_path, capsys):
    """Named muscles use the first channels only; a patient who never contracts is refused in a few short lines."""
    from emg.acquire.virtual_cyton import VirtualCyton
    from emg.simulation.source import PatientSource

    out = tmp_path / "c.csv"
    source = PatientSource("healthy", scenario=None, autopilot=False, seed=3)
    with VirtualCyton(source) as vc:
        code = main(
            [
                "train",
                "--board",
                "cyton",
                "--serial-port",
                vc.port,
                "--drill",
                "reach_hold_demo",
                "--muscles",
                "vastus medialis L,biceps femoris L",
                "--headless",
                "--rest-s",
                "2",
                "--contractions",
                "1",
                "--contraction-s",
                "1",
                "--out",
                str(out),
            ]
        )
    printed = capsys.readouterr().out
    assert code == 2, printed
    lines = printed.splitlines()
    start = [i for i, line in enumerate(lines) if line.startswith("calibration refused: ")]
    assert len(start) == 1, printed  # printed once
    block = lines[start[0] :]
    assert "not clearly above rest" in block[0]
    assert block[1].strip().startswith("vastus medialis L") and "rest" in block[1] and "reference" in block[1]
    assert block[2].strip().startswith("biceps femoris L")
    assert block[3].startswith("  (it must reach") and block[4].startswith("what to do: ")
    assert all(len(line) <= 100 for line in block[:5])
    summary = json.loads((tmp_path / "c.summary.json").read_text())
    assert summary["channels_used"] == [1, 2] and summary["channel_names"] == ["vastus medialis L", "biceps femoris L"]
    assert summary["calibration"]["accepted"] is False and summary["reps_attempted"] is None
    assert not (tmp_path / "c.calibration.json").exists()
    rec = load_recording(out)
    labels = [e.label for e in rec.events]
    assert "calibration_refused" in labels and "calibration_phase" in labels
    assert rec.n_samples == summary["samples"]


def test_muscles_and_channels_used_must_agree(capsys):
    args = ["train", "--board", "synthetic", "--drill", "reach_hold_demo", "--muscles", "a,b", "--channels-used", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: --muscles names 2 muscles but --channels-used lists 1 channels; give one muscle per channel used"
    ]


def test_train_reuses_the_patients_saved_calibration(tmp_path, capsys):
    from feedback.calibration_store import save_calibration

    names = get_preset("synthetic").channel_names()
    saved = save_calibration(_calibration("synthetic"), tmp_path / "cals", "P-001", "+".join(names), board="synthetic")
    out = tmp_path / "p.csv"
    code = main(
        [
            "train",
            "--board",
            "synthetic",
            "--drill",
            "reach_hold_demo",
            "--patient",
            "P-001",
            "--calibration-dir",
            str(tmp_path / "cals"),
            "--headless",
            "--duration",
            "1",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert f"reusing P-001's calibration {saved}" in printed
    summary = json.loads((tmp_path / "p.summary.json").read_text())
    assert summary["calibration"] == {"source": str(saved)}
    assert load_recording(out).meta["calibration"]["meta"]["patient"] == "P-001"
