"""Recordings survive SIGKILL and Ctrl-C; the synthetic round trip keeps BrainFlow's values."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from brainflow.data_filter import DataFilter

from emg.acquire.acquisition import Acquisition
from emg.errors import RecordingError
from emg.recordings import writer as writer_module
from emg.recordings.recording import load_recording
from emg.recordings.writer import SIDECAR_KEYS, RecordingWriter, csv_and_sidecar, format_rows


def _start_record(out, *extra):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "emg", "record", "--board", "synthetic", "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    assert line.startswith("recording synthetic"), line + proc.stderr.read()
    return proc, time.monotonic()


def test_synthetic_round_trip_keeps_brainflow_values(tmp_path):
    out = tmp_path / "rt.csv"
    got = []
    with Acquisition("synthetic", record_to=out, max_samples=500, muscles=["rectus femoris"]) as acq:
        for chunk in acq.chunks():
            got.append(chunk.rows)
    delivered = np.concatenate(got, axis=1)
    rec = load_recording(out)
    assert rec.n_samples == 500 == delivered.shape[1]
    # %.6f, as DataFilter.write_file: at most half a printed step, plus the float spacing of the value (the
    # synthetic board sends values like 274373.2797385, exactly half a step, which land 5e-7 + 4e-12 away)
    half_step = 5e-7 + np.spacing(np.abs(delivered))
    assert np.all(np.abs(rec.rows - delivered) <= half_step)
    assert np.all(np.abs(rec.data_uv - delivered[1:17]) <= half_step[1:17])
    bf = DataFilter.read_file(str(out))
    np.testing.assert_array_equal(bf, rec.rows)
    assert rec.fs_hz == 250.0 and rec.channel_names[0] == "ch1" and rec.muscles[0] == "rectus femoris"
    side = json.loads(out.with_suffix(".json").read_text())
    missing = [key for key in SIDECAR_KEYS if key not in side]  # the documented keys, all written
    assert not missing, missing
    assert side["complete"] is True and side["n_samples"] == 500 and side["stop_reason"] == "duration reached"


def test_writer_matches_brainflow_write_file_bytes(tmp_path):
    rows = np.array([[1.0, 2.5, -3.1234567], [1e6, 1.23456789e9, 0.0]])
    DataFilter.write_file(rows, str(tmp_path / "bf.csv"), "w")
    assert format_rows(rows) == (tmp_path / "bf.csv").read_bytes()


def test_writer_refuses_to_overwrite(tmp_path):
    with RecordingWriter(tmp_path / "a.csv", {"num_rows": 2}) as w:
        w.write(np.zeros((2, 3)))
    from emg.errors import RecordingError

    with pytest.raises(RecordingError, match="already exists"):
        RecordingWriter(tmp_path / "a.csv", {"num_rows": 2})
    assert (tmp_path / "a.csv").read_text().count("\n") == 3


def test_sigkill_leaves_a_readable_file_up_to_its_last_second(tmp_path):
    out = tmp_path / "killed.csv"
    proc, t_start = _start_record(out)
    try:
        time.sleep(2.5)
        proc.send_signal(signal.SIGKILL)
        t_kill = time.monotonic()
        proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["complete"] is False
    rec = load_recording(out)
    expected = (t_kill - t_start) * 250
    assert rec.meta["interrupted"] is True
    assert expected - 250 <= rec.n_samples <= expected + 60, (rec.n_samples, expected)
    assert np.all(np.isfinite(rec.data_uv))
    print(f"SIGKILL after {t_kill - t_start:.2f} s: {rec.n_samples} samples survived of about {expected:.0f}")


def test_ctrl_c_ends_cleanly_with_a_complete_sidecar(tmp_path):
    out = tmp_path / "int.csv"
    proc, t_start = _start_record(out)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "stopped by Ctrl-C" in stdout
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["complete"] is True and side["stop_reason"].startswith("interrupted")
    rec = load_recording(out)
    assert rec.n_samples == side["n_samples"]
    assert 250 <= rec.n_samples <= 2 * 250


def test_events_after_the_recording_closed_are_written_by_the_writer_alone(tmp_path, monkeypatch):
    """A live loop posts events (no waiting on the disk); stop() writes them before closing; events after
    stop (a drill stopped after its board was lost) are appended to the closed sidecar by the writer."""
    real_write = writer_module.write_json_atomic
    writes: list[dict] = []

    def audited(path, obj):
        real_write(path, obj)
        writes.append(
            {
                "caller": sys._getframe(1).f_code.co_qualname,
                "path": path,
                "mtime": os.stat(path).st_mtime_ns,
                "thread": threading.current_thread().name,
                "complete": obj["complete"],
                "labels": [e["label"] for e in obj["events"]],
            }
        )

    monkeypatch.setattr(writer_module, "write_json_atomic", audited)
    out = tmp_path / "late.csv"
    _, sidecar = csv_and_sidecar(out)
    with Acquisition("synthetic", record_to=out) as acq:
        for chunk in acq.chunks():
            if chunk.first_sample + chunk.n_samples >= 100:
                break
        acq.post_event("cue", 50, {"phase": "contract"})  # returns before the sidecar is written
    acq.post_event("drill_end", 60, {"late": True})
    acq.add_event_at("stop", 61)
    assert acq.flush_events()
    rec = load_recording(out)
    assert rec.meta["complete"] is True and rec.n_samples >= 100
    assert [e.label for e in rec.events] == ["cue", "drill_end", "stop"] == [e["label"] for e in acq.events]
    assert rec.events[1].sample == 60 and rec.events[1].data == {"late": True}
    # the posted event went in before the recording was closed, on the writer's thread
    first_cue = next(w for w in writes if "cue" in w["labels"])
    assert first_cue["complete"] is False and first_cue["thread"].startswith("emg-events-")
    late = next(w for w in writes if "drill_end" in w["labels"])
    assert late["complete"] is True and late["thread"].startswith("emg-events-")
    # every write of the sidecar is the writer's, and what is on disk is its last write
    assert {w["caller"] for w in writes} == {"RecordingWriter._write_sidecar"}
    assert {w["path"] for w in writes} == {sidecar}
    assert os.stat(sidecar).st_mtime_ns == writes[-1]["mtime"] and writes[-1]["labels"] == ["cue", "drill_end", "stop"]


def test_writer_appends_a_late_event_to_its_closed_sidecar(tmp_path):
    rows = np.zeros((5, 30))
    with RecordingWriter(tmp_path / "w.csv", {"num_rows": 5, "sampling_rate": 250.0}) as w:
        w.write(rows)
        w.post_event("cue", 3, 3 / 250.0, {"phase": "rest"})
    w.add_event("board_lost", 29, 29 / 250.0)
    w.post_event("drill_end", 29, 29 / 250.0)
    assert w.flush_events()
    side = json.loads((tmp_path / "w.json").read_text())
    assert side["complete"] is True and side["n_samples"] == 30
    assert [e["label"] for e in side["events"]] == ["cue", "board_lost", "drill_end"]
    w.update(session={"part": 1, "ended": "board lost"})  # a field set after close reaches the file too
    assert json.loads((tmp_path / "w.json").read_text())["session"] == {"part": 1, "ended": "board lost"}
    with pytest.raises(RecordingError, match="already closed"):
        w.write(rows)
