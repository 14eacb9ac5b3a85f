"""Artefacts of the simulated patient: each one where the ground truth says, and nowhere else."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from emg.simulation import simulate
from emg.simulation.engine import CYTON_RAIL_UV

EVENT_KINDS = ("motion", "pop", "lead_off", "railing")


@pytest.fixture(scope="module")
def tour250():
    return simulate("artefact_tour", duration_s=60.0, fs_hz=250.0, n_channels=3, seed=21)


@pytest.fixture(scope="module")
def tour1k():
    return simulate("artefact_tour", duration_s=60.0, fs_hz=1000.0, n_channels=3, seed=21)


def _entry(res, kind):
    found = [a for a in res.truth["artefacts"] if a["kind"] == kind]
    assert len(found) == 1, f"{kind} not logged once"
    return found[0]


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_each_artefact_changes_the_signal_only_where_logged(tour250, kind):
    """Same seed with and without the artefact: the difference lies inside its logged span only."""
    other = simulate("artefact_tour", duration_s=60.0, fs_hz=250.0, n_channels=3, seed=21, disable={kind})
    assert all(a["kind"] != kind for a in other.truth["artefacts"])
    e = _entry(tour250, kind)
    diff = np.abs(tour250.exg_uv - other.exg_uv)
    changed_ch, changed_k = np.nonzero(diff > 1e-9)
    assert set(changed_ch.tolist()) == set(e["channels"])
    pad = 3  # the sinc^3 filter spreads an edge over 3 samples at 250 Hz
    assert changed_k.min() >= e["start_sample"] - pad
    end = e["end_sample"] if kind != "pop" else e["start_sample"] + int(8 * e["decay_s"] * 250)
    assert changed_k.max() <= end + pad
    inside = diff[e["channels"][0], e["start_sample"] : max(e["end_sample"], e["start_sample"] + 5)]
    assert inside.max() > 200.0  # large where injected


def test_motion_is_low_frequency_and_jolts_the_accelerometer(tour1k):
    e = _entry(tour1k, "motion")
    fs = 1000.0
    low = signal.sosfiltfilt(signal.butter(4, 8.0, fs=fs, output="sos"), tour1k.exg_uv[0])
    s0, s1 = e["start_sample"], e["end_sample"]
    assert np.max(np.abs(low[s0:s1])) > 0.3 * e["amplitude_uv"]
    rail = _entry(tour1k, "railing")
    quiet = np.ones(low.size, dtype=bool)
    quiet[s0 - 500 : s1 + 500] = False
    quiet[rail["start_sample"] - 1000 : rail["end_sample"] + 1000] = False
    assert np.max(np.abs(low[quiet])) < 0.05 * e["amplitude_uv"]
    jolt = np.linalg.norm(tour1k.accel_g - tour1k.accel_g.mean(axis=1, keepdims=True), axis=0)
    assert jolt[s0:s1].max() > 0.5 * e["accel_g"]
    assert np.percentile(jolt[quiet], 99.9) < 0.1 * e["accel_g"] + 0.03


def test_pop_is_a_decaying_step(tour1k):
    e = _entry(tour1k, "pop")
    ch, k = e["channels"][0], e["start_sample"]
    x = tour1k.exg_uv[ch]
    tau = int(e["decay_s"] * 1000)
    step = np.mean(x[k : k + 5])
    assert abs(step) == pytest.approx(e["amplitude_uv"], rel=0.05)
    assert abs(np.mean(x[k + tau - 2 : k + tau + 3])) == pytest.approx(e["amplitude_uv"] * np.exp(-1), rel=0.1)
    assert np.max(np.abs(x[k - 2000 : k - 1])) < 0.1 * e["amplitude_uv"]


def test_lead_off_brings_hum_on_that_channel_only(tour1k):
    e = _entry(tour1k, "lead_off")
    ch = e["channels"][0]
    hum = signal.sosfiltfilt(
        signal.butter(2, (55.0, 65.0), btype="bandpass", fs=1000.0, output="sos"), tour1k.exg_uv, axis=1
    )
    s0, s1 = e["start_sample"], e["end_sample"]
    inside = np.sqrt(np.mean(hum[ch, s0 + 100 : s1 - 100] ** 2))
    before = np.sqrt(np.mean(hum[ch, s0 - 4000 : s0 - 1000] ** 2))
    assert inside > 100 * before
    after = np.sqrt(np.mean(hum[ch, s1 + 1000 : s1 + 4000] ** 2))
    assert inside > 100 * after


def test_railing_sits_exactly_at_the_adc_limit_only_inside_its_window(tour250):
    e = _entry(tour250, "railing")
    x = tour250.exg_uv
    at_rail = np.abs(x) >= CYTON_RAIL_UV
    ch, k = np.nonzero(at_rail)
    assert set(ch.tolist()) == set(e["channels"])
    assert k.min() == e["start_sample"] and k.max() == e["end_sample"] - 1
    assert np.all(x[e["channels"][0], e["start_sample"] : e["end_sample"]] == e["level"] * CYTON_RAIL_UV)


def test_dropped_packets_are_marked_where_injected(tour250):
    e = _entry(tour250, "dropped")
    idx = np.flatnonzero(tour250.dropped)
    assert idx.tolist() == list(range(e["start_sample"], e["start_sample"] + e["packets"]))
    assert tour250.truth["dropped_samples"] == [[e["start_sample"], e["start_sample"] + e["packets"]]]


def test_mains_present_and_switchable(tour250):
    fs = 250.0
    rest = tour250.exg_uv[2]  # a channel with no muscle: noise floor + hum
    f, p = signal.welch(rest, fs=fs, nperseg=1000)
    at = lambda hz: p[np.argmin(np.abs(f - hz))]  # noqa: E731
    base = np.median(p[(f > 20) & (f < 120)])
    assert at(60.0) > 100 * base
    off = simulate("artefact_tour", duration_s=60.0, fs_hz=250.0, n_channels=3, seed=21, disable={"mains"})
    f2, p2 = signal.welch(off.exg_uv[2], fs=fs, nperseg=1000)
    assert p2[np.argmin(np.abs(f2 - 60.0))] < 3 * np.median(p2[(f2 > 20) & (f2 < 120)])
    fifty = simulate("rest", "healthy", duration_s=20.0, fs_hz=250.0, seed=1, mains_hz=50.0)
    f3, p3 = signal.welch(fifty.exg_uv[0], fs=fs, nperseg=1000)
    assert p3[np.argmin(np.abs(f3 - 50.0))] > 30 * np.median(p3[(f3 > 20) & (f3 < 120)])


def test_ecg_beats_where_the_truth_says():
    on = simulate("trunk_ecg", duration_s=30.0, fs_hz=1000.0, seed=8)
    off = simulate("trunk_ecg", duration_s=30.0, fs_hz=1000.0, seed=8, disable={"ecg"})
    ecg = _entry(on, "ecg")
    peaks = np.array(ecg["r_peaks_s"])
    assert len(peaks) == pytest.approx(30.0 * 72 / 60, abs=3)
    diff = on.exg_uv - off.exg_uv
    for ch, entry in enumerate(on.truth["channels"]):
        amp = entry["ecg_uv"]
        for r in peaks[(peaks > 0.5) & (peaks < 29.5)]:
            k = int(round(r * 1000))
            seg = diff[ch, k - 300 : k + 300]
            assert abs(np.argmax(seg) - 300) <= 2
            assert seg.max() == pytest.approx(amp, rel=0.05)
    # heartbeats are not contractions: the truth lists only the cued reps
    cues = [c for c in on.truth["cues"] if c["phase"] == "contract"]
    assert len(on.truth["activations"][0]) == len(cues)


def test_random_artefacts_are_logged_and_deterministic():
    a = simulate("balance", duration_s=120.0, fs_hz=250.0, seed=4)
    b = simulate("balance", duration_s=120.0, fs_hz=250.0, seed=4)
    motions = [x for x in a.truth["artefacts"] if x["kind"] == "motion"]
    assert motions == [x for x in b.truth["artefacts"] if x["kind"] == "motion"]
    assert 0 < len(motions) <= 8  # Poisson, 1 per minute
    for m in motions:
        s0, s1 = m["start_sample"], m["end_sample"]
        dev = np.abs(a.accel_g[:, s0:s1] - a.accel_g.mean(axis=1, keepdims=True)).max()
        assert dev > 0.1
