"""Filter design from the sampling rate: bands, notches at mains harmonics and aliases, responses, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from dsp.design import design_filters, mains_aliases
from dsp.errors import SignalError


def gain_db(sos: np.ndarray, f_hz, fs_hz: float) -> np.ndarray:
    _, h = signal.sosfreqz(sos, worN=np.atleast_1d(np.asarray(f_hz, dtype=float)), fs=fs_hz)
    return 20 * np.log10(np.abs(h))


@pytest.mark.parametrize(
    ("fs", "mains", "band", "notches"),
    [
        (250, 60, (20, 100), [60, 70]),  # 180 Hz aliases to 70 Hz
        (250, 50, (20, 100), [50, 100]),  # 150 -> 100, 200 -> 50
        (200, 50, (20, 90), [50]),
        (1000, 50, (20, 450), [50, 100, 150, 200, 250, 300, 350, 400, 450]),
        (1000, 60, (20, 450), [60, 120, 180, 240, 300, 360, 420]),
        (500, 60, (20, 225), [60, 120, 180]),
    ],
)
def test_default_band_and_notches(fs, mains, band, notches):
    d = design_filters(fs, mains_hz=mains)
    assert d.band_hz == pytest.approx(band)
    assert d.notch_hz == pytest.approx(notches)
    assert d.sos.shape == (4 + len(notches), 6)
    assert d.sos.dtype == np.float64
    assert d.zi_unit.shape == (d.sos.shape[0], 2)


def test_describe_text():
    d = design_filters(250, mains_hz=60)
    assert d.describe() == "band-pass 20-100 Hz (Butterworth 4), notches 60, 70 Hz"
    assert design_filters(250, mains_hz=None).describe() == "band-pass 20-100 Hz (Butterworth 4), no notches"
    assert design_filters(1000, near_heart=True, mains_hz=None).band_hz == (30.0, 450.0)
    assert d.to_dict()["notch_hz"] == [60.0, 70.0]


def test_band_edges_are_minus_3_db_and_passband_flat():
    fs = 1000.0
    d = design_filters(fs, mains_hz=None)
    lo, hi = d.band_hz
    assert gain_db(d.sos, [lo, hi], fs) == pytest.approx([-3.01, -3.01], abs=0.05)
    mid = gain_db(d.sos, [60, 100, 200, 300], fs)
    assert np.all(np.abs(mid) < 0.1)
    # 8th-order band-pass: steep skirts
    assert gain_db(d.sos, [5], fs)[0] < -45
    assert gain_db(d.sos, [490], fs)[0] < -15


@pytest.mark.parametrize(("fs", "mains"), [(250, 60), (250, 50), (1000, 50), (200, 60)])
def test_notches_reject_mains_and_aliases(fs, mains):
    d = design_filters(fs, mains_hz=mains)
    assert np.all(gain_db(d.sos, d.notch_hz, fs) < -40)
    # the band between notches still passes (>-3 dB 6 Hz away from a notch inside the band)
    lo, hi = d.band_hz
    probes = [f + 6 for f in d.notch_hz if lo + 8 < f + 6 < hi - 8]
    if probes:
        assert np.all(gain_db(d.sos, probes, fs) > -3.5)


def test_notch_removes_a_mains_sine_in_the_time_domain():
    from dsp.pipeline import emg_clean

    fs = 250.0
    t = np.arange(int(20 * fs)) / fs
    x = 100 * np.sin(2 * np.pi * 60 * t) + 100 * np.sin(2 * np.pi * 70 * t)
    y = emg_clean(x[None, :], fs, mains_hz=60)
    assert np.sqrt(np.mean(y[0, -int(5 * fs) :] ** 2)) < 1.0  # from 141 uV RMS to < 1 uV


def test_aliases_helper_folds_about_nyquist():
    assert mains_aliases(250, 60, (20, 100)) == [60, 70]
    assert mains_aliases(125, 50, (20, 56)) == [25, 50]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fs_hz": 40}, "too low"),
        ({"fs_hz": 1000, "band_hz": (20, 600)}, "Nyquist"),
        ({"fs_hz": 1000, "band_hz": (100, 50)}, "low < high"),
        ({"fs_hz": -5}, "not positive"),
        ({"fs_hz": "abc"}, "not a number"),
        ({"fs_hz": 1000, "order": 0}, "order"),
        ({"fs_hz": 1000, "mains_hz": -50}, "mains"),
    ],
)
def test_bad_design_requests_raise_one_line_errors(kwargs, message):
    with pytest.raises(SignalError, match=message) as err:
        design_filters(**kwargs)
    assert "\n" not in str(err.value)
