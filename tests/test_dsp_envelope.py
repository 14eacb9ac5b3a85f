"""Envelopes: levels on known noise, causal vs zero-phase lag, the adaptive envelope's speed/smoothness trade,
and no sudden dips of the adaptive envelope during a steady contraction (250/200 Hz boards and 1 kHz)."""

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
    level = env[:, int(2 * FS) :].mean(axis=1)
    assert level == pytest.approx(np.array([10.0, 40.0]) * np.sqrt(2 / np.pi), rel=0.02)


def test_moving_rms_of_gaussian_noise_is_its_rms():
    env = emg_amplitude(NOISE, FS, method="rms")
    assert env[:, int(2 * FS) :].mean(axis=1) == pytest.approx([10.0, 40.0], rel=0.02)
    # exact against a direct window computation
    w = int(0.1 * FS)
    k = 5000
    direct = np.sqrt(np.mean(NOISE[:, k - w + 1 : k + 1] ** 2, axis=1))
    assert env[:, k] == pytest.approx(direct, rel=1e-12)


def test_rms_running_sum_does_not_drift_over_a_long_recording():
    x = RNG.normal(size=(1, int(600 * 250))) * 5 + 0.0
    env = emg_amplitude(x, 250.0, method="rms", params=EnvelopeParams(window_s=0.2))
    w = 50
    direct = np.sqrt(np.mean(x[0, -w:] ** 2))
    assert env[0, -1] == pytest.approx(direct, rel=1e-10)


def test_tkeo_envelope_scales_linearly_with_amplitude():
    env = emg_amplitude(NOISE, FS, method="tkeo")
    ratio = env[1, int(2 * FS) :].mean() / env[0, int(2 * FS) :].mean()
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
    causal = _delay50_ms(emg_amplitude(y, FS, method=method), b)
    zp = _delay50_ms(emg_amplitude(y, FS, method=method, zero_phase=True), b)
    # (a centred RMS window crosses 50 % of amplitude a little early; the adaptive envelope averages a
    # forward and a backward pass whose change tests declare rises sooner than falls, so its offline
    # contractions are symmetric but about 17 ms wider on each side at 1 kHz)
    assert abs(zp) < (20.0 if method == "adaptive" else 12.0)
    assert causal > zp + 5.0


def _delay50_ms(env_uv, bursts, channel=0):
    """Onset -> 50 % crossing of the ensemble-averaged envelope, searched from 0.2 s BEFORE the onset
    (``step_response`` searches from the onset, so it cannot see a centred estimate crossing early)."""
    fs = bursts.fs_hz
    e = env_uv[channel]
    pre = int(0.8 * fs)
    segs = [
        e[i - pre : i + pre]
        for i in (int(round(on * fs)) for on, _ in bursts.truth[channel])
        if i - pre >= 0 and i + pre <= e.shape[0]
    ]
    avg = np.mean(segs, axis=0)
    lo = avg[int(0.1 * pre) : int(0.6 * pre)].mean()
    hi = avg[pre + int(0.5 * pre) :].mean()
    level = lo + 0.5 * (hi - lo)
    k0 = pre - int(0.2 * fs)
    k = k0 + int(np.flatnonzero(avg[k0:] >= level)[0])
    return 1000.0 * (k - 1 + (level - avg[k - 1]) / (avg[k] - avg[k - 1]) - pre) / fs


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
    # the price of ignoring short dips: a relaxation is shown a little later than by the 6 Hz envelope
    # (90-10 % fall measured 1.14x at 1 kHz, 1.09x at 250 Hz; onset of the fall later: offset -> 50 % about 1.5x)
    assert ada.fall_ms <= 1.3 * lin.fall_ms


# --- steady holds: no sudden dips (the pre-envelope fluctuates by factors of 3 for a few ms at 250 Hz) ---


def _holds(active, fs, skip_s=1.0, tail_s=0.5):
    """(start, stop) sample ranges of steady holds: where ``active`` is True, minus the rise and the end."""
    d = np.diff(np.asarray(active, dtype=np.int8), prepend=0, append=0)
    out = []
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=False):
        a2, b2 = a + int(skip_s * fs), b - int(tail_s * fs)
        if b2 - a2 > int(0.5 * fs):
            out.append((a2, b2))
    assert out, "no steady hold found"
    return out


def max_drop(env, holds, fs, window_s=0.02):
    """Largest fall of ``env`` (1-D) within any ``window_s`` during the holds, relative to that hold's mean."""
    from numpy.lib.stride_tricks import sliding_window_view

    w = max(1, int(round(window_s * fs)))
    worst = 0.0
    for a, b in holds:
        seg = env[a:b]
        win = sliding_window_view(seg, w + 1)
        worst = max(worst, float((win.max(axis=1) - win[:, -1]).max() / seg.mean()))
    return worst


def dips(env, holds, fs):
    """Samples in the holds where the level falls below 40 % of itself 20 ms later (the reported bug)."""
    w = max(1, int(round(0.02 * fs)))
    return sum(int(np.count_nonzero(env[a + w : b] < 0.4 * env[a : b - w])) for a, b in holds)


@pytest.mark.parametrize("fs", [250.0, 200.0, 1000.0])
@pytest.mark.parametrize("scenario", ["sustained", "reps"])
def test_adaptive_envelope_has_no_dips_in_simulated_steady_contractions(scenario, fs):
    from emg.simulation.generator import simulate

    sim = simulate(scenario, "post_op_quadriceps", duration_s=40.0, fs_hz=fs, seed=3)
    y = emg_clean(sim.exg_uv[:1], fs, mains_hz=50)
    holds = _holds(sim.activation[0] > 0.3, fs)
    ada = emg_amplitude(y, fs, method="adaptive")[0]
    lin = emg_amplitude(y, fs, method="linear")[0]
    assert dips(ada, holds, fs) == 0
    # measured: adaptive 0.01-0.15 of the hold's level, linear 0.26-0.51
    assert max_drop(ada, holds, fs) <= max_drop(lin, holds, fs)


@pytest.mark.parametrize("fs", [250.0, 200.0, 1000.0])
def test_adaptive_envelope_has_no_dips_in_generated_steady_contractions(fs):
    # long contractions of Gaussian band noise at 5x the floor: the pre-envelope is at its noisiest
    b = step_train(fs, n_steps=10, on_s=4.0, off_s=1.5, seed=4, snr=5.0)
    y = emg_clean(b.x_uv, fs)
    holds = [(int(round((on + 0.4) * fs)), int(round(off * fs))) for on, off in b.truth[0]]
    ada = emg_amplitude(y, fs, method="adaptive")[0]
    lin = emg_amplitude(y, fs, method="linear")[0]
    assert dips(ada, holds, fs) == 0
    assert max_drop(ada, holds, fs) <= max_drop(lin, holds, fs)


def test_adaptive_envelope_streaming_matches_batch_in_random_chunks_with_a_late_channel():
    fs = 250.0
    b = step_train(fs, n_steps=4, on_s=1.0, off_s=1.0, n_channels=3, seed=5)
    y = emg_clean(b.x_uv, fs)
    y[1, :333] = np.nan  # this channel starts late (its adaptive state starts from zero there)
    ref = emg_amplitude(y, fs, method="adaptive")
    rng = np.random.default_rng(0)
    for _ in range(3):
        env = Envelope(fs, 3, "adaptive")
        parts, i = [], 0
        while i < y.shape[1]:
            k = int(rng.integers(1, 41))
            parts.append(env.process(y[:, i : i + k]))
            i += k
        assert np.array_equal(np.concatenate(parts, axis=1), ref)


def test_streaming_envelope_object_matches_batch():
    y = emg_clean(NOISE[:, :5000], FS)
    ref = emg_amplitude(y, FS, method="adaptive")
    env = Envelope(FS, 2, "adaptive")
    parts = [env.process(y[:, i : i + 33]) for i in range(0, 5000, 33)]
    assert np.array_equal(np.concatenate(parts, axis=1), ref)


def test_unknown_method_and_bad_parameters_are_refused():
    with pytest.raises(SignalError, match="unknown"):
        emg_amplitude(NOISE, FS, method="hilbert")
    with pytest.raises(SignalError, match="RMS window"):
        emg_amplitude(NOISE, FS, method="rms", params=EnvelopeParams(window_s=0.001))
    with pytest.raises(SignalError, match="cut-off"):
        emg_amplitude(NOISE, FS, method="linear", params=EnvelopeParams(cutoff_hz=600.0))
