"""The activation tone: pitch mapping, click-free synthesis, and the streaming output path."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from feedback.tone import PitchMap, Tone, ToneSynth


def _peak_hz(pcm: np.ndarray, fs: int) -> float:
    spec = np.abs(np.fft.rfft(pcm.astype(float) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / fs)[int(np.argmax(spec))])


def test_pitch_map_is_logarithmic_and_clipped():
    pm = PitchMap(220.0, 880.0, max_pct=100.0)
    assert pm.frequency_hz(0) == pytest.approx(220.0)
    assert pm.frequency_hz(50) == pytest.approx(440.0)
    assert pm.frequency_hz(100) == pytest.approx(880.0)
    assert pm.frequency_hz(150) == pytest.approx(880.0)
    assert pm.frequency_hz(float("nan")) == pytest.approx(220.0)
    assert pm.amplitude(1.0) == 0.0 and pm.amplitude(10.0) == 1.0
    with pytest.raises(ValueError, match="low_hz < high_hz"):
        PitchMap(500.0, 400.0)


@pytest.mark.parametrize("level,expected_hz", [(0.0, 220.0), (50.0, 440.0), (100.0, 880.0)])
def test_synth_frequency_follows_level(level, expected_hz):
    fs = 22050
    synth = ToneSynth(fs)
    pm = PitchMap(silence_below_pct=-1)
    blocks = [synth.render(441, pm.frequency_hz(level), 1.0) for _ in range(50)]  # 1 s
    pcm = np.concatenate(blocks[5:])
    assert abs(_peak_hz(pcm, fs) - expected_hz) <= 3.0


def test_synth_is_phase_continuous_across_blocks_and_glides():
    fs = 22050
    synth = ToneSynth(fs, volume=0.5)
    a = synth.render(441, 300.0, 1.0)
    b = synth.render(441, 600.0, 1.0)
    pcm = np.concatenate([a, b]).astype(float)
    # the largest step between samples is what a 600 Hz sine can do, i.e. no click at the block edge
    max_step = 0.5 * 32767 * 2 * np.pi * 600 / fs
    assert np.max(np.abs(np.diff(pcm[1:]))) <= max_step * 1.05
    silent = synth.render(441, 600.0, 0.0)
    assert abs(int(silent[-1])) < 400  # faded out, not cut


def test_tone_streams_pcm_to_a_player(tmp_path):
    out = tmp_path / "tone.raw"
    player = [
        sys.executable,
        "-c",
        f"import sys,shutil; shutil.copyfileobj(sys.stdin.buffer, open({str(out)!r}, 'wb'))",
    ]
    tone = Tone(PitchMap(silence_below_pct=-1), sample_rate_hz=8000, player_cmd=player)
    tone.set_level(100.0)
    assert tone.start() and tone.backend == sys.executable
    time.sleep(0.5)
    tone.stop()
    pcm = np.frombuffer(out.read_bytes(), dtype=np.int16)
    assert len(pcm) >= 8000 * 0.3
    assert abs(_peak_hz(pcm[400:], 8000) - 880.0) <= 10.0
    assert not tone.running


def test_tone_without_output_says_why(monkeypatch):
    monkeypatch.delenv("PULSE_SERVER", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/nonexistent-runtime-dir")
    tone = Tone()
    started = tone.start()
    if started:  # a machine with a real audio device and player
        tone.stop()
        pytest.skip(f"this machine has audio output ({tone.backend})")
    assert not tone.running
    assert "audio" in tone.reason or "QtMultimedia" in tone.reason
    tone.stop()  # harmless when never started
