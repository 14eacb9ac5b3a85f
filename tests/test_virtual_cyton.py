"""The virtual Cyton speaks the Cyton protocol well enough for BrainFlow's real CYTON_BOARD driver."""

from __future__ import annotations

import os
import select
import threading
import time

import numpy as np
import pytest

from emg.acquire.acquisition import Acquisition
from emg.acquire.boards import cyton_scale_uv_per_count
from emg.acquire.virtual_cyton import ACCEL_G_PER_COUNT, NoiseBurstSource, VirtualCyton, encode_packets
from emg.errors import BoardError


class RampSource:
    """Channel k carries (k+1) * 10 uV times the sample index modulo 500: gaps are visible."""

    fs_hz = 250.0

    def __init__(self) -> None:
        self.t = 0

    def read(self, n):
        idx = np.arange(self.t, self.t + n)
        self.t += n
        exg = np.outer(np.arange(1, 9) * 10.0, idx % 500)
        accel = np.tile(np.array([[0.25], [-0.5], [1.0]]), (1, n))
        return exg, accel


def _talk(fd: int, text: str, wait_s: float = 0.3) -> str:
    os.write(fd, text.encode())
    out = b""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            out += os.read(fd, 4096)
            if out.endswith(b"$$$"):
                break
    return out.decode("latin-1")


def test_packets_encode_24_bit_big_endian_twos_complement():
    counts = np.array([[1, -1, 2**23 - 1, -(2**23)]] + [[0] * 4] * 7)
    accel = np.array([[100, -100, 0, 1]] * 3)
    raw = np.frombuffer(encode_packets(counts, accel, 254), dtype=np.uint8).reshape(4, 33)
    assert list(raw[:, 0]) == [0xA0] * 4 and list(raw[:, 32]) == [0xC0] * 4
    assert list(raw[:, 1]) == [254, 255, 0, 1]
    assert list(raw[0, 2:5]) == [0, 0, 1]
    assert list(raw[1, 2:5]) == [0xFF, 0xFF, 0xFF]
    assert list(raw[2, 2:5]) == [0x7F, 0xFF, 0xFF]
    assert list(raw[3, 2:5]) == [0x80, 0x00, 0x00]
    assert list(raw[1, 26:28]) == [0xFF, 0x9C]  # -100 as int16


def test_protocol_replies_on_the_pty():
    with VirtualCyton() as vc:
        fd = os.open(vc.port, os.O_RDWR | os.O_NOCTTY)
        try:
            assert _talk(fd, "v").endswith("Firmware: v3.1.2\n$$$")
            assert _talk(fd, "d") == "updating channel settings to default$$$"
            assert _talk(fd, "x3050100X") == "Success: Channel set for 3$$$"
            assert vc.gains[2] == 12
            assert _talk(fd, "x9060100X").startswith("Failure")
            assert _talk(fd, "~~") == "Success: Sample rate is 250Hz$$$"
            os.write(fd, b"b")
            data = b""
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:
                if select.select([fd], [], [], 0.05)[0]:
                    data += os.read(fd, 65536)
            os.write(fd, b"s")
            assert len(data) >= 33 * 25 and data[0] == 0xA0 and data[32] == 0xC0
        finally:
            os.close(fd)


def test_noise_burst_source_is_band_limited_bursts_over_a_floor():
    src = NoiseBurstSource(seed=1)
    exg, accel = src.read(5 * 250)  # one period: 2 s burst then 3 s rest
    burst, rest = exg[0, 100:450], exg[0, 600:1200]
    assert np.std(rest) == pytest.approx(np.sqrt(3.0**2 + 2.0**2 / 2), rel=0.15)
    assert np.std(burst) == pytest.approx(120.0, rel=0.2)
    assert np.std(exg[5]) < 5.0
    assert np.all(accel[2] == 1.0)


def test_brainflow_cyton_driver_gets_exact_values_and_no_lost_samples():
    """Real BrainFlow CYTON_BOARD against the virtual device for 10 s at gain 12, then switched off."""
    src = RampSource()
    with VirtualCyton(src) as vc:
        got = []
        acq = Acquisition("cyton", serial_port=vc.port, gain=12).start()
        try:
            assert acq.gains == [12] * 8 and vc.gains == [12] * 8
            assert acq.fs_hz == 250.0
            with pytest.raises(BoardError, match="stopped sending data"):
                while True:
                    chunk = acq.read(0.5)
                    if chunk is not None:
                        got.append(chunk)
                    if acq.samples_received >= 2500 and not vc._powered_off:
                        vc.power_off()  # the board dies, the dongle stays: a silent port
                        t_off = time.monotonic()
            detect_s = time.monotonic() - t_off
        finally:
            acq.stop()
        assert acq.dropped_packets == 0 and vc.samples_dropped == 0
    assert detect_s < 1.0, f"switched-off board reported after {detect_s:.2f} s"
    data = np.concatenate([c.data_uv for c in got], axis=1)
    n = data.shape[1]
    assert n >= 2500
    accel = np.concatenate([c.accel for c in got], axis=1)
    scale = cyton_scale_uv_per_count(12)
    idx = np.arange(n)
    expected = np.rint(np.outer(np.arange(1, 9) * 10.0, idx % 500) / scale) * scale
    np.testing.assert_allclose(data, expected, rtol=1e-12, atol=1e-9)  # every sample, in order, exact
    np.testing.assert_allclose(
        accel[:, -1], np.rint(np.array([0.25, -0.5, 1.0]) / ACCEL_G_PER_COUNT) * ACCEL_G_PER_COUNT
    )
    pkg = np.concatenate([c.rows[0] for c in got])
    assert np.all(np.diff(pkg) % 256 == 1)


def test_killed_emulator_is_reported_within_one_second_and_nothing_spins():
    """The dongle is pulled (pty closed): BrainFlow's read thread would spin; the watchdog stops it."""
    with VirtualCyton() as vc:
        acq = Acquisition("cyton", serial_port=vc.port).start()
        try:
            t0 = time.monotonic()
            while acq.samples_received < 100 and time.monotonic() - t0 < 5:
                acq.read(0.1)
            assert acq.samples_received >= 100
            vc.kill()
            t_kill = time.monotonic()
            with pytest.raises(BoardError, match="stopped sending data") as err:
                while True:
                    acq.read(0.05)
            detect_s = time.monotonic() - t_kill
            assert "\n" not in str(err.value)
            assert detect_s < 1.0, f"dead board detected after {detect_s:.2f} s"
            print(f"killed emulator reported after {detect_s:.3f} s")
        finally:
            acq.stop()
    assert "emg-acquisition" not in [t.name for t in threading.enumerate()]
    cpu0 = time.process_time()
    time.sleep(0.5)
    assert time.process_time() - cpu0 < 0.1, "a thread keeps spinning after the board died"
