"""The simulated patient: spectrum, envelope, fatigue, aliasing, patient model, reproducibility."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import signal

from emg.errors import ConfigError
from emg.simulation import simulate
from emg.simulation.artefacts import ArtefactConfig, MainsConfig
from emg.simulation.decimation import SincDecimator, sinc_kernel
from emg.simulation.engine import Simulator
from emg.simulation.generator import generate_emg
from emg.simulation.params import MuscleParams, PatientPreset, load_preset
from emg.simulation.patient import PatientModel, rise_time_unit, zeta_for_overshoot
from emg.simulation.scenario import Scenario, Step
from emg.simulation.spectrum import board_power_fraction, scale_for_median, shape_psd, sinc_response


def _median_freq(x: np.ndarray, fs: float, nperseg: int = 512) -> float:
    f, p = signal.welch(x, fs=fs, nperseg=nperseg)
    c = np.cumsum(p)
    return float(np.interp(0.5 * c[-1], c, f))


def _steady(activation: float, seconds: float, fs: float, n_muscles: int = 1) -> np.ndarray:
    return np.full((n_muscles, int(seconds * fs)), activation)


def _quiet_muscle(**kw) -> MuscleParams:
    base = dict(name="vm", reference_uv=200.0, noise_floor_uv=0.0, median_hz=80.0, band_hz=(20.0, 450.0))
    base.update(kw)
    return MuscleParams(**base)


# --------------------------------------------------------------------------------------- spectrum


@pytest.mark.parametrize("median_hz", [60.0, 85.0, 120.0])
def test_steady_contraction_median_frequency_is_the_configured_one(median_hz):
    x = generate_emg(_steady(1.0, 30.0, 2000.0), 2000.0, muscles=[_quiet_muscle(median_hz=median_hz)], seed=1)
    measured = _median_freq(x[0], 2000.0)
    assert abs(measured - median_hz) <= 0.05 * median_hz
    f, p = signal.welch(x[0], fs=2000.0, nperseg=1024)
    share = p[(f >= 20) & (f <= 250)].sum() / p.sum()
    assert share > 0.85  # power mostly 20-250 Hz


def test_rms_equals_reference_times_activation():
    x = generate_emg(_steady(0.4, 20.0, 1000.0), 1000.0, muscles=[_quiet_muscle(reference_uv=250.0)], seed=2)
    assert np.sqrt(np.mean(x[0] ** 2)) == pytest.approx(0.4 * 250.0, rel=0.03)


def test_noise_floor_is_the_configured_rms():
    x = generate_emg(np.zeros((1, 20000)), 1000.0, muscles=[_quiet_muscle(noise_floor_uv=2.5)], seed=3)
    assert np.std(x[0]) == pytest.approx(2.5, rel=0.03)


def test_spectrum_model_median_solver():
    for med in (55.0, 90.0, 130.0):
        s = scale_for_median(med, (20.0, 450.0))
        f = np.linspace(0, 3000, 60001)
        p = shape_psd(f, s, (20.0, 450.0))
        c = np.cumsum(p)
        assert np.interp(0.5 * c[-1], c, f) == pytest.approx(med, rel=1e-3)


# --------------------------------------------------------------------------------------- envelope


def test_envelope_follows_ground_truth():
    res = simulate("reps", "healthy", duration_s=40.0, fs_hz=1000.0, seed=4, disable={"mains"})
    x = res.exg_uv[0]
    win = 100  # 100 ms RMS windows
    n = (x.size // win) * win
    env = np.sqrt(np.mean(x[:n].reshape(-1, win) ** 2, axis=1))
    truth_rms = np.interp(
        np.arange(n // win) * win + win / 2, np.arange(res.emg_rms_uv.shape[1]) * res.slow_step, res.emg_rms_uv[0]
    )
    floor = res.truth["channels"][0]["noise_floor_uv"]
    expected = np.sqrt(truth_rms**2 + floor**2)
    assert np.corrcoef(env, expected)[0, 1] > 0.97
    active = truth_rms > 50
    ratio = env[active] / expected[active]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.05)
    # activation truth agrees with the RMS truth: rms = reference x activation (+ crosstalk)
    ref = res.truth["channels"][0]["reference_uv"]
    act_slow = res.activation[0, :: res.slow_step].astype(float)
    assert np.allclose(res.emg_rms_uv[0], ref * act_slow, rtol=0.05, atol=2.0)


def test_onsets_in_truth_match_cues_plus_reaction_time():
    res = simulate("reps", "healthy", duration_s=60.0, fs_hz=1000.0, seed=5)
    truth = res.truth
    acts = truth["activations"][0]
    cues = [c for c in truth["cues"] if c["phase"] == "contract"]
    assert len(acts) == len(cues) >= 4
    for a, c in zip(acts, cues, strict=False):
        lag = a["onset_s"] - c["time_s"]
        # reaction time (jitter SD 30 ms) + the time to reach 5 % of the rise
        assert c["reaction_s"] - 0.001 <= lag <= c["reaction_s"] + 0.12
        if a["cue_s"] + 8.5 < res.duration_s:  # the relax cue came before the end
            assert a["offset_s"] is not None and a["offset_s"] > a["onset_s"] + 5.0
        else:
            assert a["offset_s"] is None
        assert a["peak_pct"] == pytest.approx(50.0, abs=8.0)


def test_detectable_edges_and_fall_end_are_ordered_as_the_levels_are():
    """The detectable edges sit where the noise-free EMG crosses the rest noise RMS: before the 5 %
    onset (after the 5 % offset) on a strong channel, after it (before it) on the weak co-contracting
    one, and always inside [rise_start, fall_end] (that level is above rest + 0.1 % of the excursion)."""
    res = simulate("reps", "healthy", duration_s=60.0, fs_hz=250.0, n_channels=2, seed=3)
    t = res.truth
    assert "fall_end" in t["onset_rule"] and "detectable_onset" in t["onset_rule"]
    kinds = set()
    for ch in range(2):
        c = t["channels"][ch]
        ref_b, rest = c["reference_uv_at_board"], c["rest_activation"]
        level = float(np.hypot(c["noise_floor_uv"], ref_b * rest)) / ref_b
        assert t["activations"][ch]
        for a in t["activations"][ch]:
            peak = a["peak_pct"] / 100.0
            five = rest + 0.05 * (peak - rest)
            assert level > rest + 1e-4 + 1e-3 * (peak - rest)
            assert a["detectable_onset_s"] is not None and a["rise_start_s"] <= a["detectable_onset_s"]
            assert a["rise_start_s"] <= a["onset_s"]
            if a["offset_s"] is not None:
                assert a["detectable_offset_s"] is not None
                assert a["detectable_onset_s"] < a["detectable_offset_s"]
                if a["fall_end_s"] is not None:
                    assert a["offset_s"] <= a["fall_end_s"] and a["detectable_offset_s"] <= a["fall_end_s"]
            if level < five:  # strong: the rest noise is passed before 5 % of the excursion is
                kinds.add("strong")
                assert a["detectable_onset_s"] <= a["onset_s"]
                if a["offset_s"] is not None:
                    assert a["detectable_offset_s"] >= a["offset_s"]
            elif level > five:  # weak: 5 % of the excursion is still inside the rest noise
                kinds.add("weak")
                assert a["detectable_onset_s"] >= a["onset_s"]
                if a["offset_s"] is not None:
                    assert a["detectable_offset_s"] <= a["offset_s"]
    assert any(a["fall_end_s"] is not None for a in t["activations"][0])
    assert kinds == {"strong", "weak"}  # channel 0 (reps at 50 %) and channel 1 (co-contraction ~3x rest)


# --------------------------------------------------------------------------------------- fatigue


def test_fatigue_slope_recovered_within_20_percent():
    p = load_preset("healthy")
    rate = 0.4
    p = replace(
        p,
        fatigue=replace(p.fatigue, median_rate_hz_per_s=rate, reference_activation=0.5),
        response=replace(p.response, steadiness_pct=0.0, overshoot_pct=0.0),
        muscles=[replace(p.muscles[0], noise_floor_uv=1.0, crosstalk=0.0), p.muscles[1]],
    )
    res = simulate("sustained", p, duration_s=75.0, fs_hz=1000.0, seed=6)
    fs = res.fs_hz
    x = res.exg_uv[0]
    t0, t1 = 15.0, 68.0  # inside the hold (starts at 10 s + reaction + rise)
    centres, mdf = [], []
    for s in np.arange(t0, t1, 1.0):
        seg = x[int(s * fs) : int((s + 1) * fs)]
        mdf.append(_median_freq(seg, fs, nperseg=256))
        centres.append(s + 0.5)
    slope = np.polyfit(centres, mdf, 1)[0]
    mean_act = float(np.mean(res.activation[0, int(t0 * fs) : int(t1 * fs)]))
    expected = -rate * mean_act / 0.5
    assert slope == pytest.approx(expected, rel=0.2)
    # the truth trace has the configured slope exactly
    tr = res.median_hz[0, int(t0 * res.slow_fs_hz) : int(t1 * res.slow_fs_hz)]
    tt = np.arange(tr.size) / res.slow_fs_hz
    assert np.polyfit(tt, tr, 1)[0] == pytest.approx(expected, rel=0.02)


def test_fatigue_switch_off_keeps_the_median():
    res = simulate("sustained", "healthy", duration_s=40.0, fs_hz=1000.0, seed=6, disable={"fatigue"})
    assert np.all(res.median_hz[0] == res.truth["channels"][0]["median_hz"])
    assert res.truth["physiology"]["fatigue"] is False


# --------------------------------------------------------------------------------------- board / aliasing


def test_sinc3_kernel_response_matches_ads1299():
    h = sinc_kernel(16, 3)
    assert h.sum() == pytest.approx(1.0)
    w, resp = signal.freqz(h, worN=[65.0, 100.0, 130.0, 175.0], fs=4000.0)
    db = 20 * np.log10(np.abs(resp))
    assert db == pytest.approx([-3.0, -7.3, -12.9, -26.1], abs=0.4)  # DOMAIN.md figures
    assert np.abs(resp) == pytest.approx(sinc_response(np.array([65.0, 100.0, 130.0, 175.0]), 250.0), rel=0.02)


def test_decimator_streams_like_batch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 16 * 300))
    batch = SincDecimator(2, 16).process(x)
    d = SincDecimator(2, 16)
    parts, i = [], 0
    for n in (5, 16, 33, 100, 1000, 7, 16 * 300):
        parts.append(d.process(x[:, i : i + n]))
        i += n
    assert np.allclose(np.concatenate(parts, axis=1), batch, atol=1e-12)
    assert batch.shape == (2, 300)


def test_mains_harmonic_aliases_at_250_hz_as_on_the_board():
    # 60 Hz mains whose 3rd harmonic (180 Hz) folds to 70 Hz through the sinc^3 filter
    arts = ArtefactConfig(
        mains=MainsConfig(enabled=True, frequency_hz=60.0, amplitude_uv=10.0, harmonics=(0.0, 0.0, 1.0))
    )
    p = PatientPreset(name="q", muscles=[_quiet_muscle(noise_floor_uv=0.0, rest_activation=0.0)])
    for decimation, expect in (("auto", 10.0 * sinc_response(np.array([180.0]), 250.0)[0]), ("none", 0.0)):
        sim = Simulator(p, fs_hz=250.0, artefacts=arts, seed=1, decimation=decimation)
        y = sim.generate(2500).exg_uv[0]  # at rest: resting tone and the hum
        spec = np.abs(np.fft.rfft(y * np.hanning(y.size))) / (np.hanning(y.size).sum() / 2)
        f = np.fft.rfftfreq(y.size, 1 / 250.0)
        at70 = spec[np.argmin(np.abs(f - 70.0))]
        if expect:
            # 10 uV x this channel's coupling x |H(180 Hz)| (0.040)
            assert at70 == pytest.approx(expect * sim.mains_gain[0], rel=0.1)
        else:
            assert at70 < 0.05


def test_emg_aliasing_at_250_hz_matches_the_folded_sinc3_spectrum():
    fs = 250.0
    med = 110.0
    x = generate_emg(_steady(1.0, 120.0, fs), fs, muscles=[_quiet_muscle(median_hz=med)], seed=7)
    f, p = signal.welch(x[0], fs=fs, nperseg=250)
    # prediction: the electrode spectrum through |H|^2, folded into 0-125 Hz
    s = scale_for_median(med, (20.0, 450.0))
    grid = np.linspace(0, 2000, 80001)
    dens = shape_psd(grid, s, (20.0, 450.0))
    dens *= 200.0**2 / np.trapezoid(dens, grid)  # total power = reference^2
    through = dens * sinc_response(grid, fs) ** 2
    pred = np.zeros_like(f)
    for k, fk in enumerate(f):
        for fold in range(8):
            for g in (fold * fs + fk, fold * fs - fk):
                if 0 < g < 2000 and not (fold == 0 and g == -fk):
                    pred[k] += np.interp(g, grid, through)
    pred_one_sided = pred  # welch is one-sided: density 0..fs/2 holds all power
    band = (f >= 30) & (f <= 115)
    assert np.median(p[band] / pred_one_sided[band]) == pytest.approx(1.0, abs=0.12)
    # aliased power is present: without folding the prediction near 120 Hz would be far lower
    hi = (f >= 105) & (f <= 120)
    unfolded = np.interp(f[hi], grid, through)
    assert p[hi].mean() > 1.15 * unfolded.mean()
    assert p[hi].mean() == pytest.approx(pred[hi].mean(), rel=0.12)
    # total power = reference^2 x the board's power fraction
    assert np.var(x[0]) == pytest.approx(200.0**2 * board_power_fraction(med, (20.0, 450.0), fs), rel=0.08)


# --------------------------------------------------------------------------------------- patient model


def _patient(**resp) -> PatientPreset:
    p = load_preset("healthy")
    base = dict(steadiness_pct=0.0, reaction_jitter_s=0.0)
    base.update(resp)
    return replace(p, response=replace(p.response, **base), fatigue=replace(p.fatigue, enabled=False))


def test_reaction_time_rise_time_and_ceiling_as_configured():
    fs = 1000.0
    p = _patient(reaction_time_s=0.35, rise_time_s=0.4, overshoot_pct=0.0, ceiling=0.55, rest_activation=0.01)
    pm = PatientModel(p, fs, seed=1)
    pm.step(1000)
    pm.set_cue({"phase": "contract", "target_pct": 100.0, "channel": 0})
    a, _ = pm.step(4000)
    x = a[0]
    onset = int(np.argmax(x > 0.01 + 1e-6))
    assert onset / fs == pytest.approx(0.35, abs=0.002)
    plateau = x[-500:].mean()
    assert plateau == pytest.approx(0.55, abs=0.002)  # the ceiling, not the asked 100 %
    step = plateau - 0.01
    t10 = np.argmax(x > 0.01 + 0.1 * step)
    t90 = np.argmax(x > 0.01 + 0.9 * step)
    assert (t90 - t10) / fs == pytest.approx(0.4, rel=0.03)
    # relax: first-order decay with the relax time constant after the reaction time
    pm.set_cue({"phase": "relax", "channel": 0})
    r, _ = pm.step(3000)
    k_tau = int(round((0.35 + p.response.relax_time_s) * fs))
    assert r[0, k_tau] == pytest.approx(0.01 + step * np.exp(-1), rel=0.03)


def test_overshoot_and_undershoot_as_configured():
    p = _patient(reaction_time_s=0.2, rise_time_s=0.3, overshoot_pct=10.0, undershoot_pct=20.0)
    pm = PatientModel(p, 1000.0, seed=1)
    pm.set_cue({"phase": "contract", "target_pct": 50.0, "channel": 0})
    a, _ = pm.step(5000)
    final = a[0, -500:].mean()
    assert final == pytest.approx(0.5 * 0.8, rel=0.01)
    peak = a[0].max()
    assert (peak - final) / (final - 0.01) == pytest.approx(0.10, abs=0.01)
    assert rise_time_unit(zeta_for_overshoot(0.0)) == pytest.approx(3.358, abs=0.002)


def test_antagonist_cocontracts_and_relaxes_slowly():
    p = load_preset("overactive_antagonist")
    p = replace(p, response=replace(p.response, steadiness_pct=0.0, reaction_jitter_s=0.0))
    pm = PatientModel(p, 1000.0, seed=1, fatigue=False)
    pm.set_cue({"phase": "contract", "target_pct": 60.0, "channel": 0})
    a, _ = pm.step(4000)
    ag, an = a[0, -500:].mean(), a[1, -500:].mean()
    assert an == pytest.approx(0.45 * ag, rel=0.02)
    pm.set_cue({"phase": "relax"})
    r, _ = pm.step(3000)
    # one second after the reaction time the agonist has let go, the antagonist has not
    k = int((p.response.reaction_time_s + 1.0) * 1000)
    assert r[0, k] < 0.02
    rest_an = p.muscles[1].rest_activation
    assert r[1, k] - rest_an == pytest.approx((an - rest_an) * np.exp(-1.0 / 1.2), rel=0.05)
    off = PatientModel(p, 1000.0, seed=1, cocontraction=False)
    off.set_cue({"phase": "contract", "target_pct": 60.0, "channel": 0})
    assert off.step(4000)[0][1, -1] == pytest.approx(rest_an)


def test_session_to_session_change():
    p = load_preset("post_op_quadriceps")
    assert p.response.ceiling == pytest.approx(0.60)
    later = p.for_session(5)
    assert later.response.ceiling == pytest.approx(0.80)
    assert later.response.reaction_time_s == pytest.approx(0.35)
    assert p.for_session(20).response.ceiling == pytest.approx(0.95)  # capped at max_ceiling


def test_fatigue_lowers_the_ceiling():
    p = _patient(ceiling=0.8, reaction_time_s=0.2)
    p = replace(p, fatigue=replace(p.fatigue, enabled=True, capacity_loss_pct_per_min=30.0, reference_activation=0.8))
    pm = PatientModel(p, 1000.0, seed=1)
    pm.set_cue({"phase": "contract", "target_pct": 100.0, "channel": 0})
    a, f = pm.step(60000)
    # after 60 s at the ceiling: F ~ 60 s x (a / 0.8) -> ceiling x (1 - 0.3 x F / 60)
    assert a[0, 2000] == pytest.approx(0.8 * (1 - 0.005 * f[0, 2000]), rel=0.01)
    assert a[0, -1] < 0.8 * 0.8
    assert f[0, -1] == pytest.approx(np.sum(a[0][a[0] > 0.05]) / 1000.0 / 0.8, rel=0.01)


def test_demo_patient_reaches_the_40_60_band():
    from emg.simulation import DEFAULT_PATIENT

    res = simulate("reps", DEFAULT_PATIENT, duration_s=40.0, fs_hz=250.0, seed=2)
    for rep in res.truth["activations"][0]:
        assert 40.0 <= rep["mean_pct"] <= 60.0
    assert res.truth["ceiling"] == pytest.approx(0.6)


# --------------------------------------------------------------------------------------- reproducibility


def test_same_seed_same_data_other_seed_other_data():
    a = simulate("artefact_tour", duration_s=20.0, fs_hz=250.0, seed=11)
    b = simulate("artefact_tour", duration_s=20.0, fs_hz=250.0, seed=11)
    c = simulate("artefact_tour", duration_s=20.0, fs_hz=250.0, seed=12)
    assert np.array_equal(a.exg_uv, b.exg_uv) and np.array_equal(a.accel_g, b.accel_g)
    assert np.array_equal(a.activation, b.activation)
    assert a.truth == b.truth
    assert not np.allclose(a.exg_uv, c.exg_uv)


def test_chunking_does_not_change_the_stream():
    kw = dict(fs_hz=250.0, n_channels=4, seed=3, artefacts=ArtefactConfig(mains=MainsConfig(enabled=True)))
    one = Simulator("post_op_quadriceps", **kw)
    one.set_cue({"phase": "contract", "target_pct": 40, "channel": 0})
    big = one.generate(1500)
    two = Simulator("post_op_quadriceps", **kw)
    two.set_cue({"phase": "contract", "target_pct": 40, "channel": 0})
    parts = []
    for n in (1, 7, 250, 3, 489, 750):
        parts.append(two.generate(n))
    assert np.allclose(np.concatenate([p.exg_uv for p in parts], axis=1), big.exg_uv, atol=1e-9)
    assert np.allclose(np.concatenate([p.accel_g for p in parts], axis=1), big.accel_g, atol=1e-12)
    assert np.array_equal(np.concatenate([p.activation for p in parts], axis=1), big.activation)


# --------------------------------------------------------------------------------------- accelerometer


def test_accelerometer_gravity_and_larger_sway_for_unstable_patient():
    steady = simulate("balance", "healthy", duration_s=60.0, fs_hz=250.0, seed=1, disable={"motion"})
    shaky = simulate("balance", "unstable_balance", duration_s=60.0, fs_hz=250.0, seed=1, disable={"motion"})
    for r in (steady, shaky):
        assert r.accel_g[2].mean() == pytest.approx(1.0, abs=0.02)
    sway = lambda r: np.std(signal.sosfilt(signal.butter(2, 2.0, fs=250.0, output="sos"), r.accel_g[0]))  # noqa: E731
    assert sway(shaky) > 3 * sway(steady)
    assert sway(shaky) == pytest.approx(0.02, rel=0.35)


# --------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: load_preset("no_such_patient"), "unknown patient preset"),
        (lambda: simulate("no_such_scenario"), "unknown scenario"),
        (lambda: Simulator("healthy", fs_hz=80.0), "fs_hz"),
        (lambda: PatientPreset(muscles=[MuscleParams(reference_uv=-5.0)]).validate(), "reference_uv"),
        (lambda: PatientPreset(muscles=[MuscleParams(noise_floor_uv=-1.0)]).validate(), "noise_floor_uv"),
        (lambda: Simulator("healthy", fs_hz=1000.0, band_hz=(20.0, 600.0)), "Nyquist"),
        (lambda: Simulator("healthy", fs_hz=120.0), "median_hz"),
        (lambda: simulate("reps", duration_s=-3.0), "duration_s"),
        (lambda: simulate("reps", duration_s=5.0, disable={"sneezes"}), "sneezes"),
        (lambda: Simulator("healthy", fs_hz=250.0, n_channels=1), "n_channels"),
    ],
)
def test_bad_input_gives_one_line_error_naming_the_parameter(make, words):
    with pytest.raises(ConfigError) as info:
        make()
    msg = str(info.value)
    assert words in msg and "\n" not in msg


def test_custom_preset_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[response]\nceiling = 0.3\n[[muscles]]\nname = "deltoid"\nreference_uv = 120\n')
    p = load_preset(str(path))
    assert p.name == "mine" and p.muscles[0].name == "deltoid" and p.response.ceiling == 0.3
    path.write_text('[[muscles]]\nname = "x"\nreference_uv = -4\n')
    with pytest.raises(ConfigError, match="reference_uv = -4"):
        load_preset(str(path))
    path.write_text("[response]\nceilling = 0.3\n")
    with pytest.raises(ConfigError, match="ceilling"):
        load_preset(str(path))


def test_scenario_cue_timeline():
    sc = Scenario(name="t", lead_in_s=2.0, steps=[Step("contract", 1.0, 30.0), Step("relax", 2.0)])
    cues = sc.cues(8.0)
    assert [(t, c["phase"]) for t, c in cues] == [
        (0.0, "rest"),
        (2.0, "contract"),
        (3.0, "relax"),
        (5.0, "contract"),
        (6.0, "relax"),
    ]
    assert cues[3][1]["rep"] == 2


def test_tremor_modulates_the_emg_at_its_frequency():
    res = simulate("balance", "unstable_balance", duration_s=30.0, fs_hz=1000.0, seed=3, disable={"motion"})
    fs = res.fs_hz
    hold = slice(int(8 * fs), int(26 * fs))  # inside the 20 s hold
    env = np.abs(signal.hilbert(res.exg_uv[0, hold]))
    env = signal.sosfiltfilt(signal.butter(4, 30.0, fs=fs, output="sos"), env)
    f, p = signal.welch(env - env.mean(), fs=fs, nperseg=4096)
    band = (f > 3) & (f < 20)
    assert f[band][np.argmax(p[band])] == pytest.approx(8.0, abs=0.5)  # the preset's tremor frequency
    off = simulate("balance", "unstable_balance", duration_s=30.0, fs_hz=1000.0, seed=3, disable={"motion", "tremor"})
    env2 = np.abs(signal.hilbert(off.exg_uv[0, hold]))
    env2 = signal.sosfiltfilt(signal.butter(4, 30.0, fs=fs, output="sos"), env2)
    f2, p2 = signal.welch(env2 - env2.mean(), fs=fs, nperseg=4096)
    k8 = np.argmin(np.abs(f - 8.0))
    assert p[k8] > 5 * p2[k8]


def test_session_argument_changes_the_patient():
    first = simulate("reps", "post_op_quadriceps", duration_s=20.0, fs_hz=250.0, seed=1, session=0)
    later = simulate("reps", "post_op_quadriceps", duration_s=20.0, fs_hz=250.0, seed=1, session=4)
    assert first.truth["ceiling"] == pytest.approx(0.60) and later.truth["ceiling"] == pytest.approx(0.76)
    assert later.truth["response"]["reaction_time_s"] == pytest.approx(0.37)
    assert later.truth["session"] == 4


@pytest.mark.parametrize("fs, board, factor", [(200.0, "ganglion", 16), (125.0, "cyton-daisy", 32)])
def test_other_openbci_rates_use_their_board_model(fs, board, factor):
    res = simulate("reps", "healthy", duration_s=20.0, fs_hz=fs, n_channels=4, seed=2)
    assert res.exg_uv.shape == (4, int(20 * fs))
    assert res.truth["board_model"] == board and res.truth["decimation"] == "sinc3"
    assert res.truth["generation_fs_hz"] == pytest.approx(fs * factor)
    ch = res.truth["channels"][0]
    assert 0.3 * ch["reference_uv"] < ch["reference_uv_at_board"] < ch["reference_uv"]
    hold = res.exg_uv[0, int(8 * fs) : int(11 * fs)]
    assert np.std(hold) == pytest.approx(0.5 * ch["reference_uv_at_board"], rel=0.25)
