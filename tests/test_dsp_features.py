"""Analysis features against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.errors import SignalError
from dsp.features import cocontraction_index, fatigue_slope, iemg, mav, peak, rms, spectral_frequencies, symmetry_index


def test_amplitude_features_exact():
    x = np.array([[3.0, -4.0, 0.0, 1.0], [1.0, 1.0, -1.0, -1.0]])
    assert rms(x) == pytest.approx([np.sqrt(26 / 4), 1.0])
    assert mav(x) == pytest.approx([2.0, 1.0])
    assert iemg(x, 2.0) == pytest.approx([4.0, 2.0])  # uV*s
    assert peak(x) == pytest.approx([4.0, 1.0])
    with pytest.raises(SignalError, match="NaN"):
        rms(np.array([1.0, np.nan]))
    with pytest.raises(SignalError, match="empty"):
        mav(np.array([]))


def test_spectral_frequencies_of_a_sine_and_of_white_noise():
    fs = 1000.0
    t = np.arange(int(10 * fs)) / fs
    sine = np.sin(2 * np.pi * 80.0 * t)
    tr = spectral_frequencies(sine[None, :], fs, window_s=1.0, step_s=0.5)
    assert tr.times_s[0] == pytest.approx(0.5) and tr.mean_hz.shape == (1, 19)
    assert np.all(np.abs(tr.mean_hz - 80.0) < 0.5) and np.all(np.abs(tr.median_hz - 80.0) < 1.0)
    noise = np.random.default_rng(0).normal(size=(1, int(10 * fs)))
    tr = spectral_frequencies(noise, fs, band_hz=(20.0, 420.0))
    assert np.median(tr.mean_hz) == pytest.approx(220.0, abs=6.0)
    assert np.median(tr.median_hz) == pytest.approx(220.0, abs=8.0)


def test_fatigue_slope_sees_a_falling_median_frequency():
    fs = 1000.0
    rng = np.random.default_rng(1)
    segs = []
    from scipy import signal

    for k in range(30):  # 30 s: spectrum centre sliding from 150 to about 92 Hz
        centre = 150.0 - 2.0 * k
        sos = signal.butter(2, [centre * 0.6, centre * 1.4], btype="bandpass", output="sos", fs=fs)
        segs.append(signal.sosfilt(sos, rng.normal(size=int(fs))))
    x = np.concatenate(segs)[None, :]
    tr = spectral_frequencies(x, fs, window_s=1.0, step_s=1.0)
    fat = fatigue_slope(tr.times_s, tr.median_hz)
    assert fat.slope_hz_per_s[0] == pytest.approx(-2.0, rel=0.2)
    assert fat.slope_pct_per_min[0] < -50
    assert fat.r2[0] > 0.8


def test_cocontraction_and_symmetry_indices():
    a = np.array([1.0, 2.0, 3.0, 0.0])
    b = np.array([1.0, 1.0, 0.0, 2.0])
    # 200 * (1 + 1 + 0 + 0) / (2 + 3 + 3 + 2)
    assert cocontraction_index(a, b) == pytest.approx(40.0)
    assert cocontraction_index(a, a) == pytest.approx(100.0)
    assert cocontraction_index(a, -b) == pytest.approx(0.0)  # below-floor values count as 0
    assert symmetry_index(120.0, 80.0) == pytest.approx(40.0)
    assert symmetry_index(np.array([1.0, 2.0]), np.array([1.0, 1.0])) == pytest.approx([0.0, 200 / 3])
    with pytest.raises(SignalError, match="shape"):
        cocontraction_index(a, b[:3])


def test_spectral_window_errors():
    with pytest.raises(SignalError, match="shorter than"):
        spectral_frequencies(np.zeros((1, 100)), 1000.0, window_s=1.0)
    with pytest.raises(SignalError, match="too short"):
        spectral_frequencies(np.zeros((1, 100)), 1000.0, window_s=0.001)
