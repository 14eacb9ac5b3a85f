"""A virtual OpenBCI Cyton on a pseudo-terminal, for BrainFlow's real ``CYTON_BOARD`` driver.

:class:`VirtualCyton` opens a pty (raw, 115200 8N1 as far as a pty cares), keeps its own copy of
the slave end open and answers the Cyton's documented serial protocol on the master end:

- ``v`` soft reset: the firmware banner ending in ``$$$`` (BrainFlow waits for it);
- ``d`` default channel settings (gain 24, normal input, bias and SRB2 on), ``D`` the default string;
- ``x<ch><power><gain><input><bias><srb2><srb1>X`` channel settings (channels 1-8), answered
  ``Success: Channel set for N$$$``; the gain is applied to the counts the device sends;
- ``1``-``8`` power a channel down, ``!@#$%^&*`` up; ``~~`` sample rate; ``V`` firmware; ``?`` registers;
- ``b`` start and ``s`` stop streaming 33-byte packets at 250 Hz:
  ``0xA0, sample number (0-255), 8 x 24-bit big-endian two's complement counts, 3 x 16-bit
  accelerometer counts, 0xC0``. Counts are ``round(uV / (4.5 V / gain / (2^23 - 1) * 1e6))``.

While streaming, settings are applied silently (no text is mixed into the packet stream), as the
firmware does. When the reader falls behind by more than 1 s, packets are dropped (the sample number
keeps counting, so the gap is visible), as a real dongle would.

Samples come from a *signal source* (see :class:`SignalSource`): anything with ``fs_hz`` (250) and
``read(n) -> (exg_uv (8, n), accel_g (3, n))``, optionally ``set_cue(cue)``. The default
:class:`NoiseBurstSource` gives a noise floor on every channel and band-limited bursts on some, so
the device is useful before the simulated patient (:mod:`emg.simulation`) is plugged in.

``kill()`` pulls the dongle: the device stops answering and the pty is closed.
``power_off()`` switches the board off with the dongle left in: the port stays open and silent,
and commands are answered ``Failure: Communications timeout - Device failed to poll Host$$$``.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import threading
import time
import tty
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from emg.acquire.boards import CYTON_GAINS, cyton_scale_uv_per_count

log = logging.getLogger(__name__)

FS_HZ = 250.0
N_CHANNELS = 8
PACKET_BYTES = 33
START_BYTE = 0xA0
END_BYTE = 0xC0
#: LIS3DH at +-4 g as the Cyton firmware configures it: g per count (BrainFlow's accel_scale).
ACCEL_G_PER_COUNT = 0.002 / 2**4
FIRMWARE = "v3.1.2"
BANNER = f"OpenBCI V3 8-16 channel\nOn Board ADS1299 Device ID: 0x3E\nLIS3DH Device ID: 0x33\nFirmware: {FIRMWARE}\n$$$"
_POWER_DOWN = "12345678"
_POWER_UP = "!@#$%^&*"
#: at most this much unsent data is kept before packets are dropped (1 s)
_MAX_BACKLOG_SAMPLES = int(FS_HZ)


@runtime_checkable
class SignalSource(Protocol):
    """What the virtual Cyton streams: 250 Hz, 8 EXG channels in uV and 3 accelerometer axes in g."""

    fs_hz: float

    def read(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``n`` samples: ``exg_uv`` (8, n) float64 and ``accel_g`` (3, n) float64."""
        ...


class NoiseBurstSource:
    """Default source: a noise floor on all channels and band-limited EMG-like bursts on some.

    ``burst_channels`` (0-based) fire together from the start of streaming: ``on_s`` seconds of
    20-100 Hz Gaussian noise at ``burst_rms_uv``, then ``off_s`` seconds of rest, repeated; every channel carries
    ``floor_rms_uv`` of
    white noise and ``mains_uv`` amplitude of ``mains_hz`` hum. The accelerometer reads 1 g on z.
    Deterministic for a given ``seed``. ``set_cue`` is accepted and ignored (fixed schedule).
    """

    def __init__(
        self,
        *,
        burst_channels: tuple[int, ...] = (0, 1),
        burst_rms_uv: float = 120.0,
        floor_rms_uv: float = 3.0,
        on_s: float = 2.0,
        off_s: float = 3.0,
        mains_hz: float = 50.0,
        mains_uv: float = 2.0,
        seed: int | None = 0,
    ) -> None:
        from scipy import signal

        self.fs_hz = FS_HZ
        self.burst_channels = tuple(burst_channels)
        self.burst_rms_uv = float(burst_rms_uv)
        self.floor_rms_uv = float(floor_rms_uv)
        self.on_s = float(on_s)
        self.off_s = float(off_s)
        self.mains_hz = float(mains_hz)
        self.mains_uv = float(mains_uv)
        self._rng = np.random.default_rng(seed)
        self._sos = signal.butter(4, (20.0, 100.0), btype="bandpass", fs=self.fs_hz, output="sos")
        # unit-RMS gain of the band-pass on white noise
        _, h = signal.sosfreqz(self._sos, worN=4096, fs=self.fs_hz)
        self._band_gain = float(np.sqrt(np.mean(np.abs(h) ** 2)))
        self._zi = np.zeros((self._sos.shape[0], len(self.burst_channels), 2))
        self._t = 0
        self.cue: Any = None

    def set_cue(self, cue: Any) -> None:
        self.cue = cue

    def is_active(self, sample_index: np.ndarray) -> np.ndarray:
        """True where a burst is on, for absolute sample indices (n,): on first, then off."""
        period = self.on_s + self.off_s
        t_s = sample_index / self.fs_hz
        return (t_s % period) < self.on_s

    def read(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        from scipy import signal

        idx = np.arange(self._t, self._t + n)
        self._t += n
        exg = self._rng.normal(0.0, self.floor_rms_uv, (N_CHANNELS, n))
        if self.mains_uv:
            exg += self.mains_uv * np.sin(2 * np.pi * self.mains_hz * idx / self.fs_hz)
        if self.burst_channels:
            white = self._rng.normal(0.0, 1.0, (len(self.burst_channels), n))
            band, self._zi = signal.sosfilt(self._sos, white, axis=1, zi=self._zi)
            envelope = self.is_active(idx).astype(float)
            for k, ch in enumerate(self.burst_channels):
                exg[ch] += band[k] * envelope * (self.burst_rms_uv / self._band_gain)
        accel = np.zeros((3, n))
        accel[2] = 1.0
        return exg, accel


def encode_packets(counts: np.ndarray, accel_counts: np.ndarray, first_sample_number: int) -> bytes:
    """Cyton packets for ``counts`` (8, n) int and ``accel_counts`` (3, n) int: n x 33 bytes."""
    n = counts.shape[1]
    out = np.empty((n, PACKET_BYTES), dtype=np.uint8)
    out[:, 0] = START_BYTE
    out[:, 1] = (first_sample_number + np.arange(n)) % 256
    c = counts.T.astype(np.int64) & 0xFFFFFF  # (n, 8) two's complement in 24 bits
    out[:, 2:26:3] = (c >> 16) & 0xFF
    out[:, 3:26:3] = (c >> 8) & 0xFF
    out[:, 4:26:3] = c & 0xFF
    a = accel_counts.T.astype(np.int64) & 0xFFFF  # (n, 3)
    out[:, 26:32:2] = (a >> 8) & 0xFF
    out[:, 27:32:2] = a & 0xFF
    out[:, 32] = END_BYTE
    return out.tobytes()


class VirtualCyton:
    """A Cyton on a pseudo-terminal. Use as a context manager; ``.port`` is the device path.

    ``link`` (optional) makes a symlink at that path pointing at the pty.
    """

    def __init__(self, source: SignalSource | None = None, *, link: str | os.PathLike | None = None) -> None:
        self.source = source if source is not None else NoiseBurstSource()
        if abs(float(self.source.fs_hz) - FS_HZ) > 1e-9:
            from emg.errors import ConfigError

            raise ConfigError(f"signal source runs at {self.source.fs_hz} Hz; the virtual Cyton needs a 250 Hz source")
        self.gains = [24] * N_CHANNELS
        self.powered = [True] * N_CHANNELS
        self.input_type = [0] * N_CHANNELS
        self.streaming = False
        self.samples_sent = 0
        self.samples_dropped = 0
        self.commands: list[str] = []  # every command received, for inspection
        self._link = Path(link) if link else None
        self._master: int | None = None
        self._slave: int | None = None
        self._port = ""
        self._stop = threading.Event()
        self._killed = False
        self._powered_off = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._inbuf = ""
        self._outbuf = bytearray()
        self._stream_t0 = 0.0
        self._stream_due = 0

    # -- life cycle -------------------------------------------------------------------------
    @property
    def port(self) -> str:
        """The path BrainFlow opens (the symlink when one was asked for)."""
        return str(self._link) if self._link else self._port

    @property
    def pty_path(self) -> str:
        return self._port

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._killed

    def start(self) -> VirtualCyton:
        if self._link and not self._link.is_symlink() and self._link.exists():
            from emg.errors import ConfigError

            raise ConfigError(
                f"--link {self._link} already exists and is not a symlink; choose another path "
                "(only an old port symlink is ever replaced)"
            )
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._port = os.ttyname(slave)
        if self._link:
            try:
                if self._link.is_symlink():
                    self._link.unlink()
                self._link.symlink_to(self._port)
            except OSError as err:
                os.close(master)
                os.close(slave)
                self._master = self._slave = None
                from emg.errors import ConfigError

                raise ConfigError(
                    f"cannot make the symlink --link {self._link} ({err.strerror or err}); "
                    "choose a path in a writable folder"
                ) from None
        self._thread = threading.Thread(target=self._run, name="virtual-cyton", daemon=True)
        self._thread.start()
        log.info("virtual Cyton on %s", self.port)
        return self

    def __enter__(self) -> VirtualCyton:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def kill(self) -> None:
        """Pull the dongle: stop answering at once and close the pty."""
        self._killed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._close_fds()

    def power_off(self) -> None:
        """Switch the board off but leave the dongle in: the stream stops, the port stays open, and
        commands get the dongle's ``Failure: Communications timeout`` answer."""
        self._powered_off = True

    def close(self) -> None:
        """Stop the device thread and close the pty (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._close_fds()
        if self._link and self._link.is_symlink():
            try:
                self._link.unlink()
            except OSError:
                pass

    def _close_fds(self) -> None:
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self._master = self._slave = None

    # -- device loop ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                timeout = 0.004 if (self.streaming or self._outbuf) else 0.05
                try:
                    ready, _, _ = select.select([self._master], [], [], timeout)
                except (OSError, ValueError):
                    return
                if ready:
                    try:
                        data = os.read(self._master, 4096)
                    except BlockingIOError:
                        data = b""
                    except OSError as err:
                        if err.errno == errno.EIO:  # no slave open right now; keep waiting
                            time.sleep(0.01)
                            continue
                        raise
                    if data and self._powered_off and not self.streaming:
                        # the dongle answers for a board that is off
                        self._outbuf += b"Failure: Communications timeout - Device failed to poll Host$$$"
                    elif data and not self._powered_off:
                        self._handle_input(data.decode("latin-1"))
                if self._powered_off and self.streaming:
                    self._outbuf.clear()
                    continue
                if self.streaming:
                    self._stream_due_packets()
                self._flush_out()
        except Exception:
            log.exception("virtual Cyton stopped on an error")

    def _reply(self, text: str) -> None:
        if not self.streaming:
            self._outbuf += text.encode("latin-1")

    def _handle_input(self, text: str) -> None:
        self._inbuf += text
        while self._inbuf:
            ch = self._inbuf[0]
            if ch in "xz":
                end = self._inbuf.find(ch.upper())
                if end < 0:
                    if len(self._inbuf) > 16:  # garbage: drop the opener
                        self._inbuf = self._inbuf[1:]
                        self._reply("Failure: Err: too few chars$$$")
                        continue
                    return  # wait for the rest of the command
                cmd, self._inbuf = self._inbuf[: end + 1], self._inbuf[end + 1 :]
                self.commands.append(cmd)
                if ch == "x":
                    self._channel_settings(cmd)
                else:
                    self._lead_off(cmd)
                continue
            if ch == "~":
                if len(self._inbuf) < 2:
                    return
                cmd, self._inbuf = self._inbuf[:2], self._inbuf[2:]
                self.commands.append(cmd)
                if cmd[1] in "~6":
                    self._reply("Success: Sample rate is 250Hz$$$")
                else:
                    self._reply("Failure: only 250Hz is available over the dongle$$$")
                continue
            self._inbuf = self._inbuf[1:]
            self.commands.append(ch)
            self._single(ch)

    def _single(self, ch: str) -> None:
        if ch == "v":
            self.streaming = False
            self._defaults()
            self._reply(BANNER)
        elif ch == "d":
            self._defaults()
            self._reply("updating channel settings to default$$$")
        elif ch == "D":
            self._reply("060110$$$")
        elif ch == "V":
            self._reply(f"{FIRMWARE}$$$")
        elif ch == "?":
            regs = ["Board ADS Registers", "ADS_ID, 00, 3E, 0, 0, 1, 1, 1, 1, 1, 0"]
            for i in range(N_CHANNELS):
                code = CYTON_GAINS.index(self.gains[i])
                regs.append(f"CH{i + 1}SET, {5 + i:02X}, {code << 4 | self.input_type[i]:02X}")
            self._reply("\n".join(regs) + "\n$$$")
        elif ch == "b":
            if not self.streaming:
                self.streaming = True
                self._stream_t0 = time.monotonic()
                self._stream_due = 0
        elif ch == "s":
            self.streaming = False
            self._outbuf.clear()
        elif ch in _POWER_DOWN:
            self.powered[_POWER_DOWN.index(ch)] = False
        elif ch in _POWER_UP:
            self.powered[_POWER_UP.index(ch)] = True
        elif ch in "cC":
            self._reply("no daisy to remove$$$" if ch == "c" else "8$$$")
        # anything else: ignored, as the firmware does

    def _defaults(self) -> None:
        self.gains = [24] * N_CHANNELS
        self.powered = [True] * N_CHANNELS
        self.input_type = [0] * N_CHANNELS

    def _channel_settings(self, cmd: str) -> None:
        # x CH POWER GAIN INPUT BIAS SRB2 SRB1 X
        if len(cmd) != 9:
            self._reply("Failure: Err: too few chars$$$")
            return
        letter, power, gain, input_type, bias, srb2, srb1 = cmd[1:8]
        if (
            letter not in "12345678"
            or power not in "01"
            or gain not in "0123456"
            or input_type not in "01234567"
            or any(c not in "01" for c in (bias, srb2, srb1))
        ):
            self._reply(f"Failure: Err: invalid channel settings {cmd}$$$")
            return
        i = int(letter) - 1
        self.powered[i] = power == "0"
        self.gains[i] = CYTON_GAINS[int(gain)]
        self.input_type[i] = int(input_type)
        self._reply(f"Success: Channel set for {i + 1}$$$")

    def _lead_off(self, cmd: str) -> None:
        if len(cmd) != 5 or cmd[1] not in "12345678":
            self._reply("Failure: Err: too few chars$$$")
            return
        self._reply(f"Success: Lead off set for {cmd[1]}$$$")

    def _stream_due_packets(self) -> None:
        due_total = int((time.monotonic() - self._stream_t0) * FS_HZ)
        n = due_total - self._stream_due
        if n <= 0:
            return
        self._stream_due = due_total
        exg_uv, accel_g = self.source.read(n)
        exg_uv = np.asarray(exg_uv, dtype=np.float64)
        counts = np.empty((N_CHANNELS, n), dtype=np.int64)
        for i in range(N_CHANNELS):
            if not self.powered[i] or self.input_type[i] == 1:  # powered down or inputs shorted
                counts[i] = 0
            else:
                counts[i] = np.rint(exg_uv[i] / cyton_scale_uv_per_count(self.gains[i]))
        np.clip(counts, -(2**23), 2**23 - 1, out=counts)
        accel_counts = np.clip(np.rint(np.asarray(accel_g) / ACCEL_G_PER_COUNT), -(2**15), 2**15 - 1)
        packets = encode_packets(counts, accel_counts, self.samples_sent + self.samples_dropped)
        backlog = len(self._outbuf) // PACKET_BYTES
        if backlog > _MAX_BACKLOG_SAMPLES:
            self.samples_dropped += n
            return
        self.samples_sent += n
        self._outbuf += packets

    def _flush_out(self) -> None:
        if not self._outbuf or self._master is None:
            return
        try:
            written = os.write(self._master, bytes(self._outbuf))
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno == errno.EIO:
                return
            raise
        del self._outbuf[:written]
