"""Auditory feedback: a tone whose pitch follows activation (off by default).

Pitch rises on a logarithmic (musical) scale from ``low_hz`` at 0 % to ``high_hz`` at ``max_pct``;
below ``silence_below_pct`` the tone is silent, so a relaxed muscle is quiet. Synthesis is
phase-continuous (no clicks) with the frequency gliding across each block.

Output, in order of preference:
1. ``QtMultimedia.QAudioSink`` where PySide6 ships QtMultimedia and a default output device exists
   (PySide6-Essentials has no QtMultimedia: it is in the PySide6-Addons wheel);
2. an external player reading raw 16-bit mono PCM from stdin (``pw-play``, ``paplay``, ``aplay``)
   where one is installed and the machine has a sound server or card;
3. none: :meth:`Tone.start` returns False and :attr:`Tone.reason` says why (the session logs it).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 22050
BLOCK_S = 0.02


class PitchMap:
    """Activation (% of reference) -> tone frequency (Hz), logarithmic, clipped to the range."""

    def __init__(
        self, low_hz: float = 220.0, high_hz: float = 880.0, max_pct: float = 100.0, silence_below_pct: float = 3.0
    ) -> None:
        if not (0 < low_hz < high_hz):
            raise ValueError(f"tone range {low_hz}-{high_hz} Hz is not increasing; give low_hz < high_hz")
        self.low_hz, self.high_hz, self.max_pct = float(low_hz), float(high_hz), float(max_pct)
        self.silence_below_pct = float(silence_below_pct)

    def frequency_hz(self, level_pct: float) -> float:
        frac = min(max(float(level_pct) if math.isfinite(level_pct) else 0.0, 0.0), self.max_pct) / self.max_pct
        return self.low_hz * (self.high_hz / self.low_hz) ** frac

    def amplitude(self, level_pct: float) -> float:
        return 0.0 if not math.isfinite(level_pct) or level_pct < self.silence_below_pct else 1.0


class ToneSynth:
    """Phase-continuous sine blocks whose frequency glides to each new target (16-bit mono PCM)."""

    def __init__(self, sample_rate_hz: int = SAMPLE_RATE_HZ, volume: float = 0.3) -> None:
        self.sample_rate_hz = int(sample_rate_hz)
        self.volume = float(volume)
        self._phase = 0.0
        self._freq_hz = 0.0
        self._amp = 0.0

    def render(self, n_samples: int, freq_hz: float, amplitude: float) -> np.ndarray:
        """``n_samples`` of int16 PCM gliding from the last frequency/amplitude to the new ones."""
        start_f = self._freq_hz or freq_hz
        f = np.linspace(start_f, freq_hz, n_samples, endpoint=False) if n_samples else np.zeros(0)
        amp = np.linspace(self._amp, amplitude, n_samples, endpoint=False) if n_samples else np.zeros(0)
        phase = self._phase + 2 * np.pi * np.cumsum(f) / self.sample_rate_hz
        out = self.volume * amp * np.sin(phase - 2 * np.pi * f / self.sample_rate_hz)
        if n_samples:
            self._phase = float(phase[-1] % (2 * np.pi))
        self._freq_hz, self._amp = float(freq_hz), float(amplitude)
        return np.round(out * 32767).astype(np.int16)


def _sound_device_present() -> bool:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    return (
        (Path("/dev/snd").is_dir() and any(Path("/dev/snd").glob("pcm*")))
        or bool(os.environ.get("PULSE_SERVER"))
        or (bool(runtime) and (Path(runtime, "pulse", "native").exists() or Path(runtime, "pipewire-0").exists()))
    )


def _player_command(sample_rate_hz: int) -> list[str] | None:
    candidates = (
        ("pw-play", ["pw-play", "--rate", str(sample_rate_hz), "--channels", "1", "--format", "s16", "-"]),
        ("paplay", ["paplay", "--raw", f"--rate={sample_rate_hz}", "--channels=1", "--format=s16le"]),
        ("aplay", ["aplay", "-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", str(sample_rate_hz)]),
    )
    for exe, cmd in candidates:
        if shutil.which(exe):
            return cmd
    return None


class Tone:
    """Pitch-follows-activation tone. Call :meth:`set_level` as levels arrive; off until :meth:`start`."""

    def __init__(
        self,
        pitch: PitchMap | None = None,
        *,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        player_cmd: Sequence[str] | None = None,
    ) -> None:
        self.pitch = pitch or PitchMap()
        self.synth = ToneSynth(sample_rate_hz)
        self.sample_rate_hz = int(sample_rate_hz)
        self._player_cmd = list(player_cmd) if player_cmd else None
        self._level_pct = 0.0
        self._proc: subprocess.Popen | None = None
        self._sink = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.backend = ""
        self.reason = "not started"

    @property
    def running(self) -> bool:
        return bool(self.backend)

    def set_level(self, level_pct: float) -> None:
        """The activation the pitch should follow now (% of reference)."""
        self._level_pct = float(level_pct)

    def start(self) -> bool:
        """Open an audio output; False (with :attr:`reason`) when none can be had."""
        if self.running:
            return True
        if self._player_cmd is None and self._start_qt():
            return True
        cmd = self._player_cmd
        if cmd is None:
            if not _sound_device_present():
                self.reason = (
                    "no audio device (no sound card or sound server found); "
                    "the tone stays off, the display works as usual"
                )
                log.info("tone: %s", self.reason)
                return False
            cmd = _player_command(self.sample_rate_hz)
            if cmd is None:
                self.reason = (
                    "no audio output: PySide6 has no QtMultimedia (install PySide6-Addons) and none of "
                    "pw-play, paplay, aplay is installed"
                )
                log.info("tone: %s", self.reason)
                return False
        try:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        except OSError as err:
            self.reason = f"audio player {cmd[0]} could not start ({err})"
            log.info("tone: %s", self.reason)
            return False
        self._stop.clear()
        self._thread = threading.Thread(target=self._feed, name="emg-tone", daemon=True)
        self._thread.start()
        self.backend = cmd[0]
        self.reason = ""
        return True

    def _block(self, n: int) -> bytes:
        lv = self._level_pct
        return self.synth.render(n, self.pitch.frequency_hz(lv), self.pitch.amplitude(lv)).tobytes()

    def _feed(self) -> None:
        n = int(self.sample_rate_hz * BLOCK_S)
        next_t = time.monotonic()
        proc = self._proc
        while not self._stop.is_set() and proc is not None and proc.stdin is not None:
            try:
                proc.stdin.write(self._block(n))
                proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                log.info("tone: audio player closed its input; tone off")
                break
            next_t += BLOCK_S
            delay = next_t - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -0.5:
                next_t = time.monotonic()

    def _start_qt(self) -> bool:
        try:
            from PySide6 import QtMultimedia
        except ImportError:
            self.reason = "PySide6 has no QtMultimedia (it ships in PySide6-Addons)"
            return False
        from PySide6 import QtCore, QtMultimedia

        device = QtMultimedia.QMediaDevices.defaultAudioOutput()
        if device.isNull():
            self.reason = "QtMultimedia found no audio output device"
            return False
        fmt = QtMultimedia.QAudioFormat()
        fmt.setSampleRate(self.sample_rate_hz)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QtMultimedia.QAudioFormat.SampleFormat.Int16)
        sink = QtMultimedia.QAudioSink(device, fmt)
        io = sink.start()
        if io is None:
            self.reason = "QtMultimedia could not open the audio output"
            return False
        self._sink = sink
        timer = QtCore.QTimer()
        timer.timeout.connect(lambda: io.write(self._block(int(self.sample_rate_hz * BLOCK_S))))
        timer.start(int(BLOCK_S * 1000))
        self._qt_timer = timer
        self.backend = "QtMultimedia"
        self.reason = ""
        return True

    def stop(self) -> None:
        """Close the audio output (safe to call when it never started)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        if self._proc is not None:
            try:
                if self._proc.stdin:
                    self._proc.stdin.close()
                self._proc.wait(timeout=2.0)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
            self._proc = None
        if self._sink is not None:
            self._qt_timer.stop()
            self._sink.stop()
            self._sink = None
        self.backend = ""
