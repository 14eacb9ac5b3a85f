"""Streaming SOS filters: equality with scipy, any chunking == one batch pass, NaN/inf never poison state."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal

from dsp.design import design_filters
from dsp.errors import SignalError
from dsp.filters import SosFilter, sosfilt, sosfiltfilt
from dsp.pipeline import EmgPipeline, emg_clean, emg_process

RNG = np.random.default_rng(1234)
X250 = RNG.normal(size=(5, 3000)) * 20 + np.array([[0.0], [150.0], [-4000.0], [7.0], [30000.0]])
X1K = RNG.normal(size=(16, 4000)) * 15
X250_16 = RNG.normal(size=(16, 3000)) * 20 + np.linspace(-3000, 3000, 16)[:, None]


def _scale(x):
    return float(np.max(np.abs(x)))


@pytest.mark.parametrize(("fs", "x"), [(250.0, X250), (1000.0, X1K)])
def test_batch_equals_scipy_sosfilt_zero_state(fs, x):
    d = design_filters(fs, mains_hz=50)
    ours = sosfilt(x, d.sos, init="zeros")
    ref = signal.sosfilt(d.sos, x, axis=1)
    assert np.max(np.abs(ours - ref)) <= 1e-9 * _scale(ref)
    # scipy's operation order without FMA: bit-identical on x86-64
    assert np.array_equal(ours, ref)


def test_steady_state_init_equals_scipy_with_zi_from_first_sample():
    d = design_filters(250.0, mains_hz=60)
    zi = signal.sosfilt_zi(d.sos)
    ref, _ = signal.sosfilt(d.sos, X250, axis=1, zi=zi[:, None, :] * X250[:, 0][None, :, None])
    ours = emg_clean(X250, 250.0, mains_hz=60)
    assert np.max(np.abs(ours - ref)) <= 1e-9 * _scale(ref)


def test_zero_phase_equals_scipy_sosfiltfilt():
    d = design_filters(1000.0, mains_hz=50)
    ref = signal.sosfiltfilt(d.sos, X1K, axis=1)
    ours = sosfiltfilt(X1K, d.sos)
    assert np.max(np.abs(ours - ref)) <= 1e-9 * _scale(ref)


def test_streaming_filter_state_matches_scipy_zi_after_each_chunk():
    d = design_filters(1000.0, mains_hz=50)
    flt = SosFilter(d.sos, 16, init="zeros")
    zi = np.zeros((d.sos.shape[0], 16, 2))
    for start in range(0, 400, 37):
        chunk = X1K[:, start : start + 37]
        ours = flt.process(chunk)
        ref, zi = signal.sosfilt(d.sos, chunk, axis=1, zi=zi)
        assert np.array_equal(ours, ref)


def _split(n, sizes):
    out, i, k = [], 0, 0
    while i < n:
        step = sizes[k % len(sizes)]
        out.append((i, min(n, i + step)))
        i += step
        k += 1
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=12),
    envelope=st.sampled_from(["linear", "rms", "tkeo", "adaptive"]),
    fs=st.sampled_from([250.0, 1000.0]),
    sixteen=st.booleans(),
)
def test_any_chunking_equals_one_batch_pass(sizes, envelope, fs, sixteen):
    if fs == 250.0:
        x = X250_16 if sixteen else X250
    else:
        x = X1K if sixteen else X1K[:5]
    filtered, env = emg_process(x, fs, envelope=envelope, mains_hz=50)
    pipe = EmgPipeline(fs, x.shape[0], envelope=envelope, mains_hz=50)
    parts_f, parts_e = [], []
    for a, b in _split(x.shape[1], sizes):
        f, e = pipe.process_both(x[:, a:b])
        parts_f.append(f)
        parts_e.append(e)
    f_s = np.concatenate(parts_f, axis=1)
    e_s = np.concatenate(parts_e, axis=1)
    assert np.max(np.abs(f_s - filtered)) <= 1e-12 * _scale(filtered)
    assert np.max(np.abs(e_s - env)) <= 1e-12 * max(_scale(env), 1e-300)
    assert np.array_equal(f_s, filtered) and np.array_equal(e_s, env)  # bit-identical


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=8),
    nan_at=st.lists(st.integers(min_value=0, max_value=1999), max_size=6),
)
def test_chunking_with_nans_still_equals_batch(sizes, nan_at):
    x = X1K[:3, :2000].copy()
    x[1, nan_at] = np.nan
    _, env = emg_process(x, 1000.0, envelope="linear")
    pipe = EmgPipeline(1000.0, 3, envelope="linear")
    e_s = np.concatenate([pipe.process(x[:, a:b]) for a, b in _split(2000, sizes)], axis=1)
    assert np.array_equal(e_s, env)
    assert np.all(np.isfinite(e_s))
    assert pipe.nonfinite_count.tolist() == [0, len(set(nan_at)), 0]


def test_one_sample_chunks_equal_batch():
    x = X250[:, :600]
    _, env = emg_process(x, 250.0, envelope="adaptive")
    pipe = EmgPipeline(250.0, x.shape[0], envelope="adaptive")
    e_s = np.concatenate([pipe.process(x[:, i : i + 1]) for i in range(600)], axis=1)
    assert np.array_equal(e_s, env)


def test_nan_and_inf_do_not_poison_the_state():
    x = X1K[:2, :3000].copy()
    clean = emg_clean(x, 1000.0)
    x[0, 1000] = np.nan
    x[0, 1500:1510] = np.inf
    x[1, 2000] = -np.inf
    y = emg_clean(x, 1000.0)
    assert np.all(np.isfinite(y))
    # a held sample is a small disturbance that decays: far from it the output returns to the clean one
    assert np.max(np.abs(y[:, 2800:] - clean[:, 2800:])) < 0.05 * _scale(clean)
    flt = SosFilter(design_filters(1000.0).sos, 2)
    flt.process(x)
    assert flt.nonfinite_count.tolist() == [11, 1]


def test_leading_nans_start_the_filter_at_the_first_finite_sample():
    x = X250[:1, :500].copy() + 1000.0
    lead = x.copy()
    lead[0, :40] = np.nan
    y = emg_clean(lead, 250.0)
    assert np.all(y[0, :40] == 0.0)
    ref = emg_clean(x[:, 40:], 250.0)
    assert np.array_equal(y[:, 40:], ref)


def test_startup_with_large_dc_offset_is_usable_at_once():
    fs = 250.0
    x = RNG.normal(size=(1, int(2 * fs))) * 10 + 25_000.0
    y = emg_clean(x, fs)
    # no start-up step: the first 200 ms are as quiet as the rest
    assert np.max(np.abs(y[0, : int(0.2 * fs)])) < 6 * np.std(y[0, int(fs) :])
    # zero-state scipy filtering would ring for a long time at that offset
    z = signal.sosfilt(design_filters(fs).sos, x)
    assert np.max(np.abs(z[0, : int(0.2 * fs)])) > 1000


def test_wrong_channel_count_is_refused_with_a_hint():
    pipe = EmgPipeline(250.0, 8)
    with pytest.raises(SignalError, match="8") as err:
        pipe.process(np.zeros((4, 10)))
    assert "\n" not in str(err.value)
    with pytest.raises(SignalError, match="transposed"):
        pipe.process(np.zeros((10, 8)))
    with pytest.raises(SignalError, match="dimensions"):
        pipe.process(np.zeros((2, 8, 10)))
    with pytest.raises(SignalError, match="numeric"):
        pipe.process([["a", "b"]])


def test_non_contiguous_and_integer_chunks_are_accepted():
    pipe = EmgPipeline(250.0, 3, envelope="linear")
    ref = EmgPipeline(250.0, 3, envelope="linear")
    x = X250[:3, :100]
    a = pipe.process(np.asfortranarray(x))
    b = ref.process(x)
    assert np.array_equal(a, b)
    ints = np.round(x).astype(np.int32)
    assert np.array_equal(pipe.process(ints), ref.process(ints.astype(np.float64)))
    frozen = x.copy()
    frozen.flags.writeable = False  # e.g. a view of a recording opened read-only
    assert np.array_equal(pipe.process(frozen), ref.process(x))


def test_bad_sos_is_refused():
    with pytest.raises(SignalError, match="sections"):
        SosFilter(np.zeros((3, 5)), 2)
    with pytest.raises(SignalError, match="NaN"):
        SosFilter(np.full((1, 6), np.nan), 2)
    with pytest.raises(SignalError, match="init"):
        SosFilter(design_filters(250.0).sos, 2, init="magic")


def test_absurd_finite_sample_is_held_like_nan():
    x = X1K[:1, :2000].copy()
    x[0, 700] = 1e300  # a corrupt packet: finite, but it would overflow the filter state to inf
    pipe = EmgPipeline(1000.0, 1)
    f, e = pipe.process_both(x)
    assert np.all(np.isfinite(f)) and np.all(np.isfinite(e))
    assert pipe.nonfinite_count.tolist() == [1]


def test_empty_chunk_is_a_no_op():
    pipe = EmgPipeline(250.0, 2)
    out = pipe.process(np.zeros((2, 0)))
    assert out.shape == (2, 0)
    assert np.array_equal(pipe.process(X250[:2, :50]), EmgPipeline(250.0, 2).process(X250[:2, :50]))
