"""Envelopes: levels on known noise, causal vs zero-phase lag, the adaptive envelope's speed/smoothness trade."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.envelope import METHODS, Envelope, EnvelopeParams, emg_amplitude
from dsp.errors import SignalError
from dsp.pipeline import emg_clean
from dsp.synth import step_response, step_train

FS = 1000.0
RNG = np.random.default_rng(7)
NOISE = RNG.normal(size=(2, int(30 * FS))) * np.array([[10.0], [40.0]])


def test_linear_envelope_of_gaussian_noise_is_its_mean_absolute_value():
    env = emg_amplitude(NOISE, FS, method="linear")
    level = env[:, int(2 * FS):].mean(axis=1)
    assert level == pytest.approx(np.array([10.0, 40.0]) * np.sqrt(2 / np.pi), rel=0.02)


def test_moving_rms_of_gaussian_noise_is_its_rms():
    env = emg_amplitude(NOISE, FS, method="rms")
    assert env[:, int(2 * FS):].mean(axis=1) == pytest.approx([10.0, 40.0], rel=0.02)
    # exact against a direct window computation
    w = int(0.1 * FS)
    k = 5000
    direct = np.sqrt(np.mean(NOISE[:, k - w + 1: k + 1] ** 2, axis=1))
    assert env[:, k] == pytest.approx(direct, rel=1e-12)


def test_rms_running_sum_does_not_drift_over_a_long_recording():
    x = RNG.normal(size=(1, int(600 * 250))) * 5 + 0.0
    env = emg_amplitude(x, 250.0, method="rms", params=EnvelopeParams(window_s=0.2))
    w = 50
    direct = np.sqrt(np.mean(x[0, -w:] ** 2))
    assert env[0, -1] == pytest.approx(direct, rel=1e-10)


def test_tkeo_envelope_scales_linearly_with_amplitude():
    env = emg_amplitude(NOISE, FS, method="tkeo")
    ratio = env[1, int(2 * FS):].mean() / env[0, int(2 * FS):].mean()
    assert ratio == pytest.approx(4.0, rel=0.03)


@pytest.mark.parametrize("method", METHODS)
def test_envelopes_are_non_negative_and_finite(method):
    env = emg_amplitude(NOISE, FS, method=method)
    assert env.shape == NOISE.shape
    assert np.all(np.isfinite(env)) and np.all(env >= 0)


@pytest.mark.parametrize("method", METHODS)
def test_zero_phase_envelope_has_no_lag(method):
    b = step_train(FS, n_steps=12, seed=2)
    y = emg_clean(b.x_uv, FS, zero_phase=True)
    causal = step_response(emg_amplitude(y, FS, method=method), b)
    zp = step_response(emg_amplitude(y, FS, method=method, zero_phase=True), b)
    assert abs(zp.delay50_ms) < 12.0  # (a centred RMS window crosses 50 % of amplitude a little early)
    assert causal.delay50_ms > zp.delay50_ms + 5.0


@pytest.mark.parametrize(("fs", "seed", "n_steps", "on_s"), [(1000.0, 3, 60, 1.5), (250.0, 11, 30, 2.0)])
def test_adaptive_envelope_rises_twice_as_fast_as_6_hz_linear_at_no_worse_smoothness(fs, seed, n_steps, on_s):
    # contractions at 5x the floor RMS switched on and off; 1 kHz is the benchmark's own condition
    b = step_train(fs, n_steps=n_steps, on_s=on_s, off_s=on_s, seed=seed, snr=5.0)
    y = emg_clean(b.x_uv, fs)
    lin = step_response(emg_amplitude(y, fs, method="linear"), b)
    ada = step_response(emg_amplitude(y, fs, method="adaptive"), b)
    assert 45.0 < lin.rise_ms < 75.0  # a 2nd-order 6 Hz low-pass
    assert ada.rise_ms <= 0.5 * lin.rise_ms
    assert ada.steady_cv <= lin.steady_cv
    assert ada.delay50_ms < lin.delay50_ms


def test_streaming_envelope_object_matches_batch():
    y = emg_clean(NOISE[:, :5000], FS)
    ref = emg_amplitude(y, FS, method="adaptive")
    env = Envelope(FS, 2, "adaptive")
    parts = [env.process(y[:, i:i + 33]) for i in range(0, 5000, 33)]
    assert np.array_equal(np.concatenate(parts, axis=1), ref)


def test_unknown_method_and_bad_parameters_are_refused():
    with pytest.raises(SignalError, match="unknown"):
        emg_amplitude(NOISE, FS, method="hilbert")
    with pytest.raises(SignalError, match="RMS window"):
        emg_amplitude(NOISE, FS, method="rms", params=EnvelopeParams(window_s=0.001))
    with pytest.raises(SignalError, match="cut-off"):
        emg_amplitude(NOISE, FS, method="linear", params=EnvelopeParams(cutoff_hz=600.0))
