"""Calibration: floor and reference from envelopes, % of reference, JSON round trip, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dsp.calibration import Calibration, CalibrationRefused
from dsp.errors import SignalError
from dsp.pipeline import emg_process
from dsp.synth import contractions

FS = 250.0
RNG = np.random.default_rng(3)


def _envs(ref_level=20.0, rest_level=2.0, n_ch=2):
    rest = rest_level + 0.2 * RNG.standard_normal((n_ch, int(5 * FS)))
    ref = np.full((n_ch, int(4 * FS)), rest_level)
    ref[:, int(1 * FS) : int(3 * FS)] = ref_level
    return rest, ref


def test_from_envelopes_measures_floor_sd_and_reference():
    rest, ref = _envs()
    cal = Calibration.from_envelopes(
        rest,
        ref,
        fs_hz=FS,
        envelope="linear",
        channel_names=["VMO", "VL"],
        meta={"patient": "P01", "muscle": "quadriceps"},
    )
    assert cal.rest_floor_uv == pytest.approx(rest.mean(axis=1))
    assert cal.rest_sd_uv == pytest.approx(rest.std(axis=1))
    assert cal.reference_uv == pytest.approx([20.0, 20.0])  # highest 0.5 s mean
    assert cal.kind == "mvc" and cal.reference_level_pct == 100.0
    pct = cal.activation_pct(np.array([[cal.rest_floor_uv[0], 20.0], [11.0, 38.0]]))
    assert pct[0] == pytest.approx([0.0, 100.0])
    expected = 100 * (np.array([11.0, 38.0]) - cal.rest_floor_uv[1]) / (20.0 - cal.rest_floor_uv[1])
    assert pct[1] == pytest.approx(expected)


def test_submaximal_reference_scales_to_percent_of_max():
    rest, ref = _envs()
    cal = Calibration.from_envelopes(rest, ref, fs_hz=FS, kind="submax", reference_level_pct=40.0)
    assert cal.kind == "submax"
    floor = cal.rest_floor_uv[:, None]
    env = floor + 0.5 * (cal.reference_uv[:, None] - floor)
    assert cal.activation_pct(env) == pytest.approx(np.full((2, 1), 50.0))
    assert cal.percent_of_max(env) == pytest.approx(np.full((2, 1), 20.0))


def test_json_round_trip_is_exact():
    rest, ref = _envs()
    cal = Calibration.from_envelopes(rest, ref, fs_hz=FS, channel_names=["a", "b"], meta={"board": "cyton"})
    text = cal.to_json()
    data = json.loads(text)
    assert data["format_version"] == 1 and data["channel_names"] == ["a", "b"]
    back = Calibration.from_json(text)
    assert np.array_equal(back.rest_floor_uv, cal.rest_floor_uv)
    assert np.array_equal(back.rest_sd_uv, cal.rest_sd_uv)
    assert np.array_equal(back.reference_uv, cal.reference_uv)
    assert (back.channel_names, back.fs_hz, back.envelope, back.kind, back.meta) == (
        cal.channel_names,
        cal.fs_hz,
        cal.envelope,
        cal.kind,
        cal.meta,
    )


def test_calibration_from_real_pipeline_envelopes():
    rest = contractions(FS, 6.0, n_channels=2, snr=0.0, seed=1)
    mvc = contractions(FS, 6.0, n_channels=2, snr=8.0, on_s=(3.0, 3.0), seed=2)
    _, rest_env = emg_process(rest.x_uv, FS)
    _, mvc_env = emg_process(mvc.x_uv, FS)
    cal = Calibration.from_envelopes(rest_env[:, int(FS) :], mvc_env, fs_hz=FS)
    assert np.all(cal.reference_uv > 5 * cal.rest_floor_uv)
    pct = cal.activation_pct(mvc_env)
    assert np.max(pct) > 95.0 and np.median(cal.activation_pct(rest_env[:, int(FS) :])) == pytest.approx(0.0, abs=5.0)


def test_reference_not_clearly_above_rest_is_refused_with_the_channel_named():
    rest, ref = _envs()
    ref[1] = rest[1, : ref.shape[1]] * 1.1  # second electrode saw nothing
    with pytest.raises(CalibrationRefused, match="VL") as err:
        Calibration.from_envelopes(rest, ref, fs_hz=FS, channel_names=["VMO", "VL"])
    msg = str(err.value)
    assert "\n" not in msg and "VMO" not in msg and "electrode" in msg
    assert isinstance(err.value, SignalError)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda r, m: (r[:, :50], m), "rest recording"),
        (lambda r, m: (r, m[:, :10]), "reference contraction"),
        (lambda r, m: (r[:1], m), "channels"),
        (lambda r, m: (np.where(np.arange(r.shape[1]) == 7, np.nan, r), m), "NaN"),
    ],
)
def test_bad_recordings_are_refused(mutate, match):
    rest, ref = _envs()
    r, m = mutate(rest, ref)
    with pytest.raises(CalibrationRefused, match=match):
        Calibration.from_envelopes(r, m, fs_hz=FS)


def test_bad_json_and_bad_fields_are_refused():
    with pytest.raises(SignalError, match="not valid JSON"):
        Calibration.from_json("{nope")
    with pytest.raises(SignalError, match="lacks"):
        Calibration.from_json('{"rest_floor_uv": [1]}')
    with pytest.raises(SignalError, match="newer"):
        Calibration.from_json(
            json.dumps(
                {"format_version": 99, "rest_floor_uv": [1], "rest_sd_uv": [1], "reference_uv": [5], "fs_hz": 250}
            )
        )
    with pytest.raises(CalibrationRefused, match="not above"):
        Calibration(rest_floor_uv=[5.0], rest_sd_uv=[1.0], reference_uv=[4.0], channel_names=None, fs_hz=250.0)
    with pytest.raises(SignalError, match="kind"):
        Calibration(
            rest_floor_uv=[1.0], rest_sd_uv=[1.0], reference_uv=[4.0], channel_names=None, fs_hz=250.0, kind="max"
        )
    cal = Calibration(rest_floor_uv=[1.0], rest_sd_uv=[1.0], reference_uv=[4.0], channel_names=None, fs_hz=250.0)
    with pytest.raises(SignalError, match="channels"):
        cal.activation_pct(np.zeros((2, 5)))
