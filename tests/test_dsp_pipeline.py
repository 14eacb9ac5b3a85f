"""EmgPipeline: the live chain, % of reference in the same call, batch helpers, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.calibration import Calibration
from dsp.errors import SignalError
from dsp.pipeline import EmgPipeline, emg_clean, emg_process
from dsp.synth import contractions


def test_pipeline_exposes_its_design_and_matches_emg_process():
    b = contractions(250.0, 20.0, n_channels=3, dc_uv=800.0, seed=4)
    pipe = EmgPipeline(250.0, 3, mains_hz=60)
    assert pipe.design.describe() == "band-pass 20-100 Hz (Butterworth 4), notches 60, 70 Hz"
    env = np.concatenate([pipe.process(b.x_uv[:, i : i + 10]) for i in range(0, b.x_uv.shape[1], 10)], axis=1)
    _, ref = emg_process(b.x_uv, 250.0, mains_hz=60)
    assert np.array_equal(env, ref)
    pipe.reset()
    again = pipe.process(b.x_uv[:, :10])
    assert np.array_equal(again, ref[:, :10])


def test_envelope_tracks_the_true_burst_amplitude():
    b = contractions(1000.0, 40.0, floor_rms_uv=2.0, snr=10.0, seed=5)
    _, env = emg_process(b.x_uv, 1000.0, envelope="rms")
    on, off = b.truth[0][0]
    mid = env[0, int((on + 0.4) * 1000) : int((off - 0.1) * 1000)].mean()
    # band-passed burst (RMS 20 uV, mostly in band) plus floor (about 1.9 uV in band)
    assert mid == pytest.approx(np.hypot(20.0, 1.9), rel=0.08)


def test_process_pct_is_activation_in_percent_of_reference():
    b = contractions(250.0, 30.0, n_channels=2, seed=6)
    pipe = EmgPipeline(250.0, 2, envelope="linear")
    _, env = emg_process(b.x_uv, 250.0, envelope="linear")
    cal = Calibration(
        rest_floor_uv=[2.0, 3.0],
        rest_sd_uv=[0.5, 0.5],
        reference_uv=[12.0, 23.0],
        channel_names=["VMO", "VL"],
        fs_hz=250.0,
        envelope="linear",
    )
    pipe.set_calibration(cal)
    pct = np.concatenate([pipe.process_pct(b.x_uv[:, i : i + 25]) for i in range(0, b.x_uv.shape[1], 25)], axis=1)
    assert np.allclose(pct, cal.activation_pct(env), rtol=0, atol=1e-9)
    # plain process() still returns microvolts afterwards
    pipe.reset()
    assert np.array_equal(pipe.process(b.x_uv[:, :50]), env[:, :50])
    with pytest.raises(SignalError, match="calibration"):
        EmgPipeline(250.0, 2).process_pct(b.x_uv[:, :10])
    with pytest.raises(SignalError, match="channels"):
        EmgPipeline(250.0, 3, envelope="linear").set_calibration(cal)
    with pytest.raises(SignalError, match="envelope"):
        EmgPipeline(250.0, 2, envelope="adaptive").set_calibration(cal)
    with pytest.raises(SignalError, match="1000 Hz"):
        EmgPipeline(1000.0, 2, envelope="linear").set_calibration(cal)


def test_railed_and_flat_channels_give_finite_quiet_output():
    x = np.random.default_rng(1).normal(size=(3, 2500)) * 10
    x[1] = 187_500.0  # stuck at the rail
    x[2] = 0.0  # flat (powered down)
    f, env = emg_process(x, 250.0)
    assert np.all(np.isfinite(f)) and np.all(np.isfinite(env))
    assert np.max(np.abs(f[1:])) < 1e-6
    assert env[0, 500:].mean() > 5.0


def test_all_nan_chunk_keeps_state_and_output_finite():
    x = np.random.default_rng(2).normal(size=(2, 1000)) * 10
    pipe = EmgPipeline(1000.0, 2)
    pipe.process(x[:, :500])
    out = pipe.process(np.full((2, 100), np.nan))
    assert np.all(np.isfinite(out))
    after = pipe.process(x[:, 500:])
    assert np.all(np.isfinite(after)) and after[:, -100:].mean() > 3.0
    assert pipe.nonfinite_count.tolist() == [100, 100]


def test_zero_phase_helpers():
    b = contractions(1000.0, 20.0, seed=8)
    f, env = emg_process(b.x_uv, 1000.0, zero_phase=True, envelope="linear")
    assert f.shape == env.shape == b.x_uv.shape
    assert np.allclose(f, emg_clean(b.x_uv, 1000.0, zero_phase=True))


def test_bad_construction_is_refused():
    with pytest.raises(SignalError, match="too low"):
        EmgPipeline(30.0, 2)
    with pytest.raises(SignalError, match="channel count"):
        EmgPipeline(250.0, 0)
    with pytest.raises(SignalError, match="unknown"):
        EmgPipeline(250.0, 2, envelope="bayes")
