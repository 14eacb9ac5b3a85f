"""Acquisition: chunk rate, events at the right sample, watchdog, BrainFlow log routing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from emg.acquire.acquisition import Acquisition, Chunk, SampleSource
from emg.acquire.boards import get_preset
from emg.errors import BoardError, ConfigError
from emg.recordings.recording import load_recording


class StoppingSource:
    """A SampleSource (our protocol, no BrainFlow) that sends ``n_live`` samples at 250 Hz, then nothing."""

    def __init__(self, n_live: int) -> None:
        self.preset = get_preset("synthetic")
        self.fs_hz = 250.0
        self.board_name = "test-source"
        self.n_live = n_live
        self.sent = 0
        self.closed = 0
        self.t0 = 0.0

    def open(self) -> None:
        self.t0 = time.monotonic()

    def poll(self) -> np.ndarray:
        due = min(int((time.monotonic() - self.t0) * self.fs_hz), self.n_live)
        n = due - self.sent
        rows = np.zeros((self.preset.num_rows, max(n, 0)))
        if n > 0:
            idx = np.arange(self.sent, due)
            rows[0] = idx % 256
            rows[1:17] = idx.astype(float)
            rows[30] = 1.7e9 + idx / self.fs_hz
            self.sent = due
        return rows

    def pending(self) -> int:
        return 0

    def at_end(self) -> bool:
        return False

    def insert_marker(self, value: float) -> None:
        pass

    def describe(self) -> dict:
        return {}

    def close(self) -> None:
        self.closed += 1


def test_source_protocol_is_runtime_checkable():
    assert isinstance(StoppingSource(1), SampleSource)


def test_synthetic_chunks_arrive_at_least_50_times_a_second():
    with Acquisition("synthetic", max_samples=500) as acq:
        chunks = list(acq.chunks())
    assert all(isinstance(c, Chunk) for c in chunks)
    assert sum(c.n_samples for c in chunks) == 500
    assert 500 / len(chunks) <= 5.0  # <= 5 samples per chunk at 250 Hz: >= 50 chunks a second
    firsts = [c.first_sample for c in chunks]
    assert firsts == list(np.cumsum([0] + [c.n_samples for c in chunks[:-1]]))
    c = chunks[0]
    assert c.data_uv.shape[0] == 16 and c.rows.shape[0] == 32 and c.accel.shape[0] == 3
    assert c.data_uv.dtype == np.float64 and c.timestamps.shape == (c.n_samples,)


def test_mark_lands_on_the_sample_brainflow_marks(tmp_path):
    out = tmp_path / "marks.csv"
    with Acquisition("synthetic", record_to=out, max_samples=400) as acq:
        events = []
        for chunk in acq.chunks():
            if chunk.first_sample > 100 and not events:
                events.append(acq.mark("cue: contract", {"target_pct": [40, 60]}))
            if chunk.first_sample > 250 and len(events) == 1:
                events.append(acq.add_event("rep end"))
    rec = load_recording(out)
    marker_at = np.flatnonzero(rec.rows[31])
    assert list(marker_at) == [events[0]["sample"]]
    assert rec.events[0].label == "cue: contract" and rec.events[0].data == {"target_pct": [40, 60]}
    assert rec.events[0].time_s == pytest.approx(events[0]["sample"] / 250.0)
    assert rec.events[1].sample == events[1]["sample"] and events[1]["sample"] > 250


def test_silent_source_raises_board_error_after_delivering_what_came(tmp_path):
    src = StoppingSource(n_live=100)
    out = tmp_path / "dead.csv"
    acq = Acquisition(source=src, stall_timeout_s=0.3, record_to=out).start()
    got = 0
    t_last = None
    with pytest.raises(BoardError, match="stopped sending data") as err:
        with acq:
            while True:
                chunk = acq.read(0.05)
                if chunk is not None:
                    got += chunk.n_samples
                    t_last = time.monotonic()
    assert got == 100
    assert "\n" not in str(err.value)
    assert 0.3 <= acq.stall_detected_after_s < 0.45
    assert time.monotonic() - t_last < 1.0
    assert src.closed >= 1
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["complete"] is True and side["n_samples"] == 100 and side["stop_reason"].startswith("error:")
    assert "emg-acquisition" not in [t.name for t in threading.enumerate()]


def test_channel_labels_are_checked():
    with pytest.raises(ConfigError, match="3 channel names given for 16 channels"):
        with Acquisition("synthetic", channel_names=["a", "b", "c"]):
            pass
    with pytest.raises(ConfigError, match="drop --gain"):
        Acquisition("synthetic", gain=12)
    with pytest.raises(ConfigError, match="needs a recording"):
        Acquisition("playback")


def test_brainflow_native_log_goes_to_python_logging_not_fd2():
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format='%(name)s|%(message)s')\n"
        "from emg.acquire.acquisition import Acquisition\n"
        "from emg.acquire import brainflow_log\n"
        "with Acquisition('synthetic', max_samples=10) as a:\n"
        "    list(a.chunks())\n"
        "brainflow_log.drain()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "board_logger" not in proc.stderr and "incoming json" not in proc.stderr
    assert "emg.brainflow|board_logger: incoming json" in proc.stdout


def test_a_second_session_on_the_same_port_is_refused():
    from emg.acquire.serial_ports import PortLock
    from emg.acquire.virtual_cyton import VirtualCyton

    with VirtualCyton() as vc:
        first = PortLock(vc.port)  # what a running Acquisition holds on its port
        first.acquire()
        try:
            with pytest.raises(BoardError, match=r"busy: another emg session \(pid \d+\)") as err:
                Acquisition("cyton", serial_port=vc.port).start()
            assert "\n" not in str(err.value)
        finally:
            first.release()
        assert vc.commands == []  # refused before BrainFlow touched the port


def test_a_port_held_by_another_program_is_busy():
    from emg.acquire.virtual_cyton import VirtualCyton

    with VirtualCyton() as vc:
        holder = subprocess.Popen(["sleep", "30"], stdin=open(vc.port, "rb"))
        try:
            with pytest.raises(BoardError, match=r"busy: in use by sleep \(pid"):
                Acquisition("cyton", serial_port=vc.port).start()
        finally:
            holder.kill()
            holder.wait()


def test_a_source_that_never_sends_is_reported_after_the_start_grace():
    src = StoppingSource(n_live=0)
    acq = Acquisition(source=src, stall_timeout_s=0.2, start_timeout_s=0.4)
    with pytest.raises(BoardError, match="started but sent no data"):
        with acq:
            while True:
                acq.read(0.05)
    assert 0.4 <= acq.stall_detected_after_s < 0.6
