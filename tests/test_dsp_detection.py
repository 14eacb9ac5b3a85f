"""Activation detection on generated contractions with known onsets, false alarms at rest, online detector."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.detection import OnlineDetector, detect_activations
from dsp.errors import SignalError
from dsp.pipeline import emg_process
from dsp.synth import contractions


def _score(fs, seeds, snr=3.0, minutes=2.0, **kw):
    found = total = false = 0
    on_err, off_err = [], []
    for seed in seeds:
        b = contractions(fs, 60 * minutes, n_channels=2, snr=snr, seed=seed, dc_uv=300.0)
        res = detect_activations(b.x_uv, fs, **kw)
        for c in range(2):
            acts = res[c]
            for on, off in b.truth[c]:
                total += 1
                hits = [a for a in acts if a.onset_s < off and a.offset_s > on]
                if hits:
                    found += 1
                    on_err.append(abs(hits[0].onset_s - on))
                    off_err.append(abs(hits[-1].offset_s - off))
            false += sum(1 for a in acts if not any(a.onset_s < off and a.offset_s > on for on, off in b.truth[c]))
    return found / total, false, 1000 * np.median(on_err), 1000 * np.median(off_err), total


@pytest.mark.parametrize(("fs", "onset_ms"), [(1000.0, 20.0), (250.0, 30.0)])
def test_offline_detection_meets_targets_at_3x_baseline(fs, onset_ms):
    rate, false, on_ms, off_ms, total = _score(fs, seeds=(1, 2))
    assert total > 60
    assert rate >= 0.95
    assert false <= 1
    assert on_ms <= onset_ms
    assert off_ms <= 60.0


@pytest.mark.parametrize("fs", [1000.0, 250.0])
def test_false_activations_in_ten_minutes_of_rest(fs):
    rng = np.random.default_rng(9)
    rest = rng.standard_normal((1, int(600 * fs))) * 4.0 + 50.0
    res = detect_activations(rest, fs)
    assert len(res[0]) <= 1


def test_rest_recording_anchors_the_threshold():
    fs = 1000.0
    b = contractions(fs, 60.0, snr=3.0, seed=4)
    rest = contractions(fs, 10.0, snr=0.0, seed=5).x_uv
    res = detect_activations(b.x_uv, fs, rest=rest)[0]
    assert len(res) == len(b.truth[0])
    on_err = [abs(a.onset_s - on) for a, (on, off) in zip(res, b.truth[0], strict=False)]
    off_err = [abs(a.offset_s - off) for a, (on, off) in zip(res, b.truth[0], strict=False)]
    assert max(on_err) < 0.05 and np.median(on_err) < 0.02
    assert max(off_err) < 0.12 and np.median(off_err) < 0.06
    for act, (on, off) in zip(res, b.truth[0], strict=False):
        assert act.peak_uv > act.mean_uv > 0
        assert act.duration_s == pytest.approx(off - on, abs=0.15)


def test_online_detector_has_bounded_delay_and_follows_contractions():
    fs = 250.0
    b = contractions(fs, 60.0, snr=5.0, seed=6)
    rest = contractions(fs, 10.0, snr=0.0, seed=7)
    _, env = emg_process(b.x_uv, fs, envelope="adaptive")
    _, rest_env = emg_process(rest.x_uv, fs, envelope="adaptive")
    det = OnlineDetector.from_rest(rest_env[:, int(fs) :], fs, min_on_s=0.03, min_off_s=0.1)
    states = []
    for i in range(0, env.shape[1], 10):
        decision = det.update(env[:, i : i + 10])
        states.append(det.last_states)
        assert decision.shape == (1,) and decision[0] == det.last_states[0, -1]
    s = np.concatenate(states, axis=1)[0]
    for on, off in b.truth[0]:
        i_on = int(on * fs)
        first = i_on + int(np.argmax(s[i_on:]))
        assert 0 <= (first - i_on) / fs < 0.15  # envelope lag + min_on
        assert s[int((on + off) / 2 * fs)]
        # off again within 0.6 s of relaxing (envelope fall + min_off_s)
        i_off = int(off * fs)
        assert np.argmax(~s[i_off:]) / fs < 0.6


def test_online_detector_refuses_bad_thresholds():
    with pytest.raises(SignalError, match="off threshold"):
        OnlineDetector(250.0, [1.0], [2.0])
    with pytest.raises(SignalError, match="NaN"):
        OnlineDetector(250.0, [np.nan])
    det = OnlineDetector(250.0, [3.0, 3.0], [2.0, 2.0])
    with pytest.raises(SignalError, match="channels"):
        det.update(np.zeros((3, 5)))


def test_detection_bad_input():
    with pytest.raises(SignalError, match="k_high"):
        detect_activations(np.zeros((1, 1000)), 1000.0, k_high=1.0, k_low=2.0)
    with pytest.raises(SignalError, match="at least 0.2 s"):
        detect_activations(np.zeros((1, 10)), 1000.0)
    x = contractions(1000.0, 20.0, snr=4.0, seed=3).x_uv
    x[0, 5000:5050] = np.nan
    res = detect_activations(x, 1000.0)
    assert all(np.isfinite(a.onset_s) for a in res[0])
