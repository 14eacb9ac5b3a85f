"""Playback through BrainFlow's playback board: the file's values at the sidecar's rate."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from emg.acquire.acquisition import Acquisition
from emg.recordings.recording import load_recording
from emg.recordings.writer import RecordingWriter


def _daisy_recording(path, n=250, fs=125.0):
    """A Cyton+Daisy-shaped recording (32 rows, 125 Hz): the playback board's master reports 125 Hz
    too, so the file is paced by its own timestamps."""
    rows = np.zeros((32, n))
    rows[0] = (2 * np.arange(n)) % 256
    rows[1:17] = np.outer(np.arange(1, 17), np.sin(np.arange(n) / 5.0)) * 10
    rows[30] = 1.7e9 + np.arange(n) / fs
    meta = {
        "board_id": 2,
        "board_name": "cyton-daisy",
        "sampling_rate": fs,
        "num_rows": 32,
        "exg_rows": list(range(1, 17)),
        "accel_rows": [17, 18, 19],
        "timestamp_row": 30,
        "marker_row": 31,
        "package_num_row": 0,
        "channel_names": [f"ch{i}" for i in range(1, 17)],
        "gains": [24] * 16,
    }
    with RecordingWriter(path, meta) as w:
        w.write(rows)
    return rows


def test_playback_round_trip_of_a_synthetic_recording(tmp_path):
    out = tmp_path / "syn.csv"
    with Acquisition("synthetic", record_to=out, max_samples=400) as acq:
        for _ in acq.chunks():
            pass
    rec = load_recording(out)
    got = []
    t0 = time.monotonic()
    with Acquisition("playback", playback_file=out) as play:
        assert play.fs_hz == 250.0 and play.n_channels == 16
        for chunk in play.chunks():
            got.append(chunk)
    wall = time.monotonic() - t0
    data = np.concatenate([c.data_uv for c in got], axis=1)
    assert play.finished and play.stop_reason == "end of file"
    assert data.shape == (16, 400)
    np.testing.assert_allclose(data, rec.data_uv, atol=1e-6, rtol=0)
    assert 1.3 < wall < 6.0  # 1.6 s of signal at real speed (plus set-up)


def test_playback_uses_the_sidecar_rate_not_the_master_default(tmp_path):
    """A 500 Hz file on the synthetic master (which BrainFlow reports as 250 Hz)."""
    path = tmp_path / "fast500.csv"
    n, fs = 600, 500.0
    rows = np.zeros((32, n))
    rows[0] = np.arange(n) % 256
    rows[1:17] = np.outer(np.arange(1, 17), np.cos(np.arange(n) / 7.0))
    rows[30] = 1.7e9 + np.arange(n) / fs
    meta = {
        "board_id": -1,
        "board_name": "synthetic",
        "sampling_rate": fs,
        "num_rows": 32,
        "exg_rows": list(range(1, 17)),
        "accel_rows": [17, 18, 19],
        "timestamp_row": 30,
        "marker_row": 31,
        "package_num_row": 0,
        "channel_names": [f"ch{i}" for i in range(1, 17)],
    }
    with RecordingWriter(path, meta) as w:
        w.write(rows)
    from brainflow.board_shim import BoardShim

    assert BoardShim.get_sampling_rate(-1) == 250
    arrivals = []
    with Acquisition("playback", playback_file=path) as play:
        assert play.fs_hz == 500.0
        chunks = []
        for c in play.chunks():
            chunks.append(c.data_uv)
            arrivals.append(time.monotonic())
    data = np.concatenate(chunks, axis=1)
    np.testing.assert_allclose(data, rows[1:17], atol=1e-6, rtol=0)
    span_s = arrivals[-1] - arrivals[0]
    assert 0.9 < span_s < 1.8  # paced at 500 Hz: 1.2 s of signal, not 2.4 s


def test_fast_replay_is_faster_than_real_time(tmp_path):
    path = tmp_path / "daisy.csv"
    _daisy_recording(path, n=1250)  # 10 s of signal
    proc = subprocess.run(
        [sys.executable, "-m", "emg", "replay", "--fast", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "replayed 1250 samples (10.00 s of signal)" in proc.stdout
    wall = float(proc.stdout.split(" in ")[1].split(" s")[0])
    assert wall < 3.0


def test_replay_command_at_real_speed_prints_rms(tmp_path):
    path = tmp_path / "daisy.csv"
    _daisy_recording(path, n=250)
    proc = subprocess.run(
        [sys.executable, "-m", "emg", "replay", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "16 ch at 125 Hz" in proc.stdout
    assert proc.stdout.count("RMS uV:") == 2
    assert "replayed 250 samples (2.00 s of signal)" in proc.stdout


@pytest.mark.parametrize("fs", ["250", "200", "125", "1000"])
def test_replay_of_a_simulated_recording_at_every_layout(tmp_path, fs):
    """`emg simulate` writes fewer named channels than the board layout has EXG rows; replay plays them
    (the recording's names first, the layout's own names for the rows the simulation left empty)."""
    path = tmp_path / f"sim{fs}.csv"
    sim = subprocess.run(
        [sys.executable, "-m", "emg", "simulate", "--duration", "2", "--fs", fs, "--out", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sim.returncode == 0, sim.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "emg", "replay", str(path), "--fast"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    n = int(2 * float(fs))
    assert f"replayed {n} samples (2.00 s of signal)" in proc.stdout, proc.stdout
    meta = load_recording(path).meta
    with Acquisition("playback", playback_file=path, fast=True) as acq:
        names = acq.channel_names
        muscles = acq.muscles
    assert names[: len(meta["channel_names"])] == meta["channel_names"]
    assert len(names) == acq.n_channels and len(set(names)) == len(names)
    assert muscles[: len(meta["muscles"])] == meta["muscles"]
