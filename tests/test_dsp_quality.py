"""Quality flags per sample and the batch quality report (synthetic faults and real ECG-contaminated EMG)."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.errors import SignalError
from dsp.quality import QualityFlag, QualityMonitor, assess_quality, describe_flags
from dsp.quality.assessment import (
    ECG_AUTOCORR_MIN,
    check_channel,
    detect_mains_hz,
    fill_nonfinite,
    flag_summary,
    mains_lines_hz,
    mains_share,
    power_spectra,
    sample_flags,
)

FS = 250.0


def test_flag_values_match_the_contract():
    assert [
        int(f)
        for f in (
            QualityFlag.RAILED,
            QualityFlag.FLAT,
            QualityFlag.NAN,
            QualityFlag.SPIKE,
            QualityFlag.LEAD_OFF,
            QualityFlag.DROPPED,
        )
    ] == [1, 2, 4, 8, 16, 32]
    assert describe_flags(0) == "ok"
    assert describe_flags(QualityFlag.RAILED | QualityFlag.LEAD_OFF) == "railed, lead off"


def test_monitor_flags_each_fault_on_its_own_channel():
    rng = np.random.default_rng(0)
    n = int(3 * FS)
    x = rng.normal(size=(5, n)) * 10
    x[0, 100] = np.nan
    x[0, 101] = np.inf
    x[1, :] = 187_500.0  # railed for 3 s
    x[2, 200:] = 42.0  # goes flat
    x[3, 300] += 10_000.0  # a jump (motion)
    mon = QualityMonitor(FS, 5, rail_uv=187_500.0)  # a Cyton at gain 24
    flags = np.concatenate([mon.update(x[:, i : i + 10]) for i in range(0, n, 10)], axis=1)
    assert flags.shape == (5, n) and flags.dtype == np.uint8
    assert flags[0, 100] & QualityFlag.NAN and flags[0, 101] & QualityFlag.NAN
    assert np.count_nonzero(flags[0] & QualityFlag.NAN) == 2
    assert np.all(flags[1] & QualityFlag.RAILED)
    lead = flags[1] & QualityFlag.LEAD_OFF
    assert not lead[: int(FS) - 2].any() and lead[int(1.1 * FS) :].all()  # lead-off after 1 s of railing
    flat = (flags[2] & QualityFlag.FLAT) > 0
    assert not flat[:200].any() and flat[200 + int(0.25 * FS) :].all()
    spike = (flags[3] & QualityFlag.SPIKE) > 0
    assert spike[300] and not spike[:300].any() and not spike[300 + int(0.25 * FS) :].any()
    assert not flags[4].any()  # clean channel


def test_dropped_packets_mark_the_chunk_start():
    mon = QualityMonitor(FS, 2)
    flags = mon.update(np.random.default_rng(1).normal(size=(2, 10)), dropped=3)
    assert np.all(flags[:, 0] & QualityFlag.DROPPED) and not np.any(flags[:, 1:] & QualityFlag.DROPPED)


def test_monitor_refuses_wrong_channel_count():
    with pytest.raises(SignalError, match="channels"):
        QualityMonitor(FS, 4).update(np.zeros((3, 10)))


@pytest.mark.parametrize("rail_uv", [187_500.0, None], ids=["cyton-gain-24-rail", "unknown-rail"])
def test_assess_quality_reports_mains_railing_and_flat_channels(rail_uv):
    rng = np.random.default_rng(2)
    n = int(20 * FS)
    t = np.arange(n) / FS
    x = rng.normal(size=(4, n)) * 5
    x[1] += 200 * np.sin(2 * np.pi * 50 * t)  # strong mains pick-up
    x[2, 1000:] = -187_500.0  # at a Cyton's rail (gain 24); without a known rail: pinned at its extreme
    x[3] = 0.0
    rep = assess_quality(x, FS, mains_hz=50, rail_uv=rail_uv, channel_names=["a", "b", "c", "d"])
    assert [r["channel"] for r in rep] == ["a", "b", "c", "d"]
    assert rep[0]["usable"] and rep[0]["problems"] == [] and rep[0]["mains_share"] < 0.05
    assert rep[0]["rms_uv"] == pytest.approx(5.0 * np.sqrt(80 / 125), rel=0.1)  # white noise in a 20-100 Hz band
    assert rep[1]["mains_share"] > 0.9 and any("mains" in p for p in rep[1]["problems"])
    assert not rep[2]["usable"] and rep[2]["railed_fraction"] > 0.7
    assert any("railed" in p for p in rep[2]["problems"])
    assert not rep[3]["usable"] and rep[3]["flat_fraction"] > 0.9
    assert any(p.startswith("flat") for p in rep[3]["problems"])


def test_assess_quality_finds_ecg_in_real_chest_emg(realdata):
    d = np.loadtxt(realdata / "chest_ecg_contaminated" / "Chest_lifting.csv", delimiter=",")
    x = d[:, 1][None, :] * 1e6  # volts -> uV
    rep = assess_quality(x, 250.0)[0]
    assert rep["ecg_score"] >= ECG_AUTOCORR_MIN
    assert rep["heart_rate_bpm"] == pytest.approx(95.0, abs=6.0)  # PROVENANCE: median RR 0.632 s
    assert any("ECG" in p for p in rep["problems"])


def test_assess_quality_sees_no_ecg_in_generated_bursts():
    from dsp.synth import contractions

    b = contractions(FS, 30.0, seed=1)
    rep = assess_quality(b.x_uv, FS)[0]
    assert rep["ecg_score"] < 0.6 * ECG_AUTOCORR_MIN and not any("ECG" in p for p in rep["problems"])


def test_assess_quality_refuses_too_short_input():
    with pytest.raises(SignalError, match="at least 1 s"):
        assess_quality(np.zeros((1, 100)), FS)


def test_nonfinite_samples_are_interpolated_and_empty_channels_zeroed():
    x = np.array([[0.0, np.nan, 2.0, np.inf, 4.0], [np.nan] * 5])
    assert np.array_equal(fill_nonfinite(x), [[0.0, 1.0, 2.0, 3.0, 4.0], [0.0] * 5])
    assert np.isnan(x[0, 1])  # the input is left alone


def test_check_channel_status_of_each_fault():
    rng = np.random.default_rng(3)
    n = 5000
    noise = rng.normal(size=n) * 10
    assert check_channel(noise).status == "ok" and check_channel(noise).usable
    part = noise.copy()
    part[1000:1200] = 187_500.0  # 4 % at the rail
    chk = check_channel(part, rail_uv=187_500.0)
    assert chk.status == "railed-partly" and chk.usable and chk.railed_fraction == pytest.approx(0.04)
    pinned = check_channel(part)  # no rail known: pinned at its maximum for a long run
    assert pinned.status == "railed-partly" and pinned.rail_uv == 187_500.0
    assert check_channel(noise).rail_uv is None  # noise touches its extremes once: no rail found
    off = noise.copy()
    off[:3000] = -187_500.0
    assert check_channel(off, rail_uv=187_500.0).status == "disconnected"
    assert check_channel(np.full(n, 3.0)).status == "flat"
    assert check_channel(np.zeros(n), nonfinite_count=n).status == "no-data"
    assert check_channel(noise, nonfinite_count=3000).status == "no-data"


def test_sample_flags_take_one_rail_per_channel():
    x = np.random.default_rng(4).normal(size=(2, 500)) * 10
    x[:, 100:400] = 1000.0
    flags = sample_flags(x, FS, [1000.0, None])
    assert (flags[0, 100:400] & QualityFlag.RAILED).all() and not (flags[1] & QualityFlag.RAILED).any()
    summary = flag_summary(flags)
    assert summary.lead_off_fraction[0] > 0 and summary.flagged_fraction.shape == (2,)
    with pytest.raises(SignalError, match="rails for 2 channels"):
        sample_flags(x, FS, [1000.0])


def test_mains_lines_fold_about_nyquist():
    assert mains_lines_hz(250.0, 60.0) == [10.0, 60.0, 70.0, 120.0]
    assert mains_lines_hz(250.0, 50.0) == [50.0, 100.0]
    assert mains_lines_hz(250.0, None) == []


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_mains_detected_and_its_share(mains):
    rng = np.random.default_rng(5)
    t = np.arange(int(30 * FS)) / FS
    x = np.vstack([rng.normal(size=t.size) * 5 + 20 * np.sin(2 * np.pi * mains * t), rng.normal(size=t.size) * 5])
    f, p = power_spectra(x, FS)
    assert f[1] - f[0] == pytest.approx(0.25)
    assert detect_mains_hz(f, p, FS) == mains
    assert detect_mains_hz(f, p, FS, channels=[1]) is None  # the clean channel alone shows no line
    share, lines = mains_share(f, p[0], FS, None)  # without a mains frequency: the larger share
    assert share > 0.8 and mains in lines
