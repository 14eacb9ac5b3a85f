"""emg.analysis: accuracy on generated contractions with known onsets, the real recordings, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from analysis_gen import contractions, match, write_project_recording

from emg.analysis import AnalysisSettings, analyze_file, analyze_recording
from emg.analysis.edges import edge_pad
from emg.errors import ConfigError, RecordingError
from emg.recordings.recording import Event, Recording


def _run(x: np.ndarray, fs: float, **kw) -> dict:
    rec = Recording(data_uv=x, fs_hz=fs, channel_names=[f"ch{i + 1}" for i in range(x.shape[0])])
    return analyze_recording(rec, AnalysisSettings(keep_signals=False, **kw)).to_dict()


def _score(res: dict, truth: list[list[tuple[float, float]]]) -> tuple[float, int, float]:
    hits = false = total = 0
    errors: list[float] = []
    for ch, tr in zip(res["channels"], truth, strict=True):
        h, f, e = match([(a["onset_s"], a["offset_s"]) for a in ch["activations"]], tr)
        hits, false, total = hits + h, false + f, total + len(tr)
        errors += e
    return hits / total, false, float(np.median(np.abs(errors))) * 1000.0


# --------------------------------------------------------------------------- accuracy (issue targets)


@pytest.mark.parametrize("fs, max_err_ms", [(1000.0, 20.0), (250.0, 30.0)])
def test_contractions_found_with_onset_error(fs: float, max_err_ms: float) -> None:
    g = contractions(fs, 160, n_contractions=30, n_channels=2, seed=11)
    res = _run(g.x_uv, fs)
    found, false, err_ms = _score(res, g.truth)
    assert found >= 0.95
    assert false == 0
    assert err_ms <= max_err_ms
    assert all(ch["status"] == "ok" for ch in res["channels"])


def test_250hz_with_60hz_mains_and_70hz_alias() -> None:
    g = contractions(250.0, 160, n_contractions=30, mains_hz=60, mains_uv=30, alias_hz=(70.0,), alias_uv=8, seed=5)
    res = _run(g.x_uv, 250.0)
    st = res["settings"]
    assert st["mains_hz"] == 60.0 and st["mains_source"] == "detected"
    assert 60.0 in st["notch_hz"] and 70.0 in st["notch_hz"]
    found, false, err_ms = _score(res, g.truth)
    assert found >= 0.95 and false == 0 and err_ms <= 30.0
    assert res["channels"][0]["quality"]["mains_share"] > 0.5


@pytest.mark.parametrize("fs, mains, alias, max_err_ms", [(250.0, 60.02, (70.02,), 30.0), (1000.0, 50.02, (), 20.0)])
def test_strong_contractions_with_mains_keep_their_onsets(
    fs: float, mains: float, alias: tuple, max_err_ms: float
) -> None:
    """Strong contractions (20-30 x rest) with mains notches on: the notches' pre-ringing must not pull
    onsets early (dsp's zero-phase notch alone puts them 160-220 ms early here)."""
    g = contractions(
        fs, 120, n_contractions=20, snr=(20.0, 30.0), mains_hz=mains, mains_uv=30, alias_hz=alias, alias_uv=8, seed=12
    )
    res = _run(g.x_uv, fs)
    assert res["settings"]["notch_hz"]
    found, false, err_ms = _score(res, g.truth)
    assert found == 1.0 and false == 0 and err_ms <= max_err_ms


@pytest.mark.parametrize(
    "kw",
    [
        dict(fs=250.0, mains_hz=60.05, mains_uv=30, alias_hz=(70.05,), alias_uv=8),  # the grid drifts a little
        dict(fs=250.0, ecg_uv=20),
        dict(fs=1000.0, dc_uv=-30000.0, mains_hz=50, mains_uv=100),
    ],
)
def test_ten_minutes_of_rest_give_at_most_one_false_activation(kw: dict) -> None:
    fs = kw.pop("fs")
    g = contractions(fs, 600, n_contractions=0, seed=8, **kw)
    res = _run(g.x_uv, fs)
    assert res["channels"][0]["n_activations"] <= 1
    # nor at the edges: a big DC offset and strong mains leave no start-up transient
    assert all(2.0 < a["onset_s"] < 598.0 for a in res["channels"][0]["activations"])


def test_trunk_recording_with_ecg() -> None:
    g = contractions(250.0, 160, n_contractions=25, ecg_uv=20, heart_bpm=80, seed=7)
    res = _run(g.x_uv, 250.0)
    ecg = res["channels"][0]["quality"]["ecg"]
    assert ecg["contaminated"] and ecg["heart_rate_bpm"] == pytest.approx(80, rel=0.1)
    assert res["settings"]["near_heart"] and res["settings"]["band_hz"][0] == 30.0
    found, false, err_ms = _score(res, g.truth)
    assert found >= 0.95 and false == 0 and err_ms <= 30.0


def test_edge_pad_continues_mains_without_a_step() -> None:
    fs = 250.0
    t = np.arange(2500) / fs
    x = (40 * np.sin(2 * np.pi * 60 * t + 0.4) + 5000.0)[None, :]
    ext, pad = edge_pad(x, fs, [60.0])
    assert pad == 250 and ext.shape == (1, 3000)
    np.testing.assert_array_equal(ext[:, pad:-pad], x)
    t_ext = (np.arange(3000) - pad) / fs
    np.testing.assert_allclose(ext[0], 40 * np.sin(2 * np.pi * 60 * t_ext + 0.4) + 5000.0, atol=1e-6)


def test_causal_mode_is_what_the_live_pipeline_gives() -> None:
    from dsp.pipeline import EmgPipeline

    g = contractions(250.0, 30, n_contractions=4, seed=2)
    rec = Recording(data_uv=g.x_uv, fs_hz=250.0, channel_names=["ch1"])
    res = analyze_recording(rec, AnalysisSettings(zero_phase=False, mains_hz=50))
    pipe = EmgPipeline(250.0, 1, mains_hz=50)
    live = np.concatenate([pipe.process(g.x_uv[:, k : k + 10]) for k in range(0, g.x_uv.shape[1], 10)], axis=1)
    np.testing.assert_allclose(res.envelope_uv, live, rtol=0, atol=1e-9 * np.abs(live).max())
    assert res.summary["settings"]["mode"] == "causal"


# --------------------------------------------------------------------------- quality, fatigue, cross-channel


@pytest.mark.parametrize(
    "meta, rail",
    [
        ({"rail_uv": 93_750.0, "board_id": 0}, 93_750.0),  # the sidecar says
        ({"board_id": 0, "gains": [12, 12]}, 375_000.0),  # a Cyton at gain 12 (emg.acquire.boards)
        ({"board_id": 2}, 187_500.0),  # Cyton + Daisy at its default gain 24
        ({"board_name": "OpenBCI_GUI$BoardCytonSerial"}, 187_500.0),  # an OpenBCI GUI file names its board
        ({"board_id": -1}, None),  # the synthetic board has no rail
        ({}, None),
    ],
)
def test_rail_of_the_recordings_board(meta: dict, rail: float | None) -> None:
    from emg.analysis.quality import recording_rail_uv

    rec = Recording(data_uv=np.zeros((1, 10)), fs_hz=250.0, channel_names=["ch1"], meta=meta)
    assert recording_rail_uv(rec) == rail


def test_flat_railed_nan_channels_and_dropped_packets(tmp_path: Path) -> None:
    g = contractions(250.0, 40, n_contractions=5, n_channels=4, seed=3)
    x = g.x_uv.copy()
    x[1] = 0.0  # flat
    x[2, 2000:8000] = 187_500.0  # railed for 60 % (lead off)
    x[3, 1000:1010] = np.nan  # a few NaNs
    path = write_project_recording(tmp_path / "q", x, 250.0)
    # drop 3 packets: remove 3 samples from the file (package counter jumps)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:500] + lines[503:]))
    side = path.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["n_samples"] = len(lines) - 3
    side.write_text(json.dumps(meta))
    res = analyze_file(path)
    ch = res["channels"]
    assert ch[0]["status"] == "ok" and ch[0]["n_activations"] >= 5
    assert ch[1]["status"] == "flat" and ch[1]["activations"] == [] and "flat" in ch[1]["reason"]
    assert ch[2]["status"] == "disconnected" and ch[2]["activations"] == [] and "railed" in ch[2]["reason"]
    assert ch[3]["quality"]["nan_samples"] == 10 and ch[3]["status"] == "ok"
    assert res["quality"]["dropped_packets"] == 3
    json.dumps(res, allow_nan=False)


def test_fatigue_slope_recovered() -> None:
    g = contractions(1000.0, 80, n_contractions=4, on_s=(10.0, 12.0), snr=(8.0, 10.0), fatigue_hz_per_s=-2.0, seed=4)
    res = _run(g.x_uv, 1000.0)
    fat = res["channels"][0]["fatigue"]
    assert len(fat["contractions"]) == 4
    # the generator's centre frequency falls at 2 Hz/s; the MDF follows with the same sign and order
    assert -3.5 < fat["median_frequency_slope_hz_per_s"] < -1.0
    assert fat["fatigue_index_pct_per_s"] < 0


def test_cocontraction_and_symmetry() -> None:
    g = contractions(1000.0, 40, n_contractions=6, n_channels=1, seed=6)
    x = np.vstack([g.x_uv[0], g.x_uv[0] * 0.5 + np.random.default_rng(0).normal(0, 1.5, g.x_uv.shape[1])])
    rec = Recording(data_uv=x, fs_hz=1000.0, channel_names=["quad left", "quad right"])
    res = analyze_recording(rec).to_dict()
    assert res["cocontraction"] and res["cocontraction"][0]["index_pct"] > 50
    sym = res["symmetry"][0]
    assert (sym["left"], sym["right"]) == ("quad left", "quad right")
    assert sym["index_pct"] > 30  # left about twice the right


def test_percent_of_reference_from_sidecar_calibration(tmp_path: Path) -> None:
    from dsp.calibration import Calibration

    g = contractions(250.0, 40, n_contractions=5, seed=9, snr=(6.0, 6.0))
    cal = Calibration(
        rest_floor_uv=np.array([3.0]),
        rest_sd_uv=np.array([0.5]),
        reference_uv=np.array([23.0]),
        channel_names=["ch1"],
        fs_hz=250.0,
        envelope="adaptive",
        kind="mvc",
        reference_level_pct=100.0,
        meta={"patient": "P01"},
    )
    path = write_project_recording(tmp_path / "c", g.x_uv, 250.0, extra_meta={"calibration": json.loads(cal.to_json())})
    res = analyze_file(path)
    assert res["settings"]["calibration"] == "recording sidecar"
    assert res["patient"] == "P01"
    a = res["channels"][0]["activations"][0]
    assert a["peak_pct"] == pytest.approx(100 * (a["peak"] - 3.0) / 20.0, abs=1e-3)


def test_calibration_option_as_file_text_or_dict(tmp_path: Path) -> None:
    """The calibration option takes the file (read by feedback.calibration_store), its JSON text or its dict,
    all giving the same % of reference; a broken one is a one-line ConfigError."""
    from dsp.calibration import Calibration

    g = contractions(250.0, 20, n_contractions=3, seed=9, snr=(6.0, 6.0))
    cal = Calibration(
        rest_floor_uv=np.array([3.0]),
        rest_sd_uv=np.array([0.5]),
        reference_uv=np.array([23.0]),
        channel_names=["ch1"],
        fs_hz=250.0,
    )
    path = tmp_path / "cal.json"
    path.write_text(cal.to_json(), encoding="utf-8")
    results = [
        _run(g.x_uv, 250.0, calibration=c)["channels"][0]["activations"]
        for c in (cal, path, str(path), cal.to_json(), json.loads(cal.to_json()))
    ]
    assert results[0] and all("peak_pct" in a for a in results[0])
    assert all(r == results[0] for r in results[1:])
    for bad, words in (
        (tmp_path / "missing.json", "not found"),
        (tmp_path, "is a folder"),
        ({"rest_floor_uv": [1.0]}, "lacks"),
        ("{not json", "not valid JSON"),
    ):
        with pytest.raises(ConfigError, match=words) as err:
            _run(g.x_uv, 250.0, calibration=bad)
        assert "\n" not in str(err.value)


def test_drill_reps_from_recorded_events(tmp_path: Path) -> None:
    fs = 250.0
    g = contractions(fs, 60, n_contractions=4, on_s=(3.0, 3.0), snr=(5.0, 5.0), seed=12)
    events = [{"label": "drill_start", "time_s": 0.5, "data": {"kind": "reach_hold", "name": "quads"}}]
    for k, (on, off) in enumerate(g.truth[0], 1):
        events += [
            {"label": "rep_start", "time_s": on - 0.5, "data": {"set": 1, "rep": k}},
            {
                "label": "cue",
                "time_s": on - 0.3,
                "data": {"phase": "contract", "channel": 0, "band_pct": [40, 60], "target_pct": 50},
            },
            {"label": "cue", "time_s": off, "data": {"phase": "relax", "channel": 0}},
            {"label": "success" if k != 3 else "failure", "time_s": off, "data": {"set": 1, "rep": k}},
            {
                "label": "rep_end",
                "time_s": off + 0.5,
                "data": {"set": 1, "rep": k, "result": "success" if k != 3 else "failure", "reaction_time_s": 0.3},
            },
        ]
    path = write_project_recording(tmp_path / "d", g.x_uv, fs, events=events)
    res = analyze_file(path)
    reps = res["reps"]
    assert [r["rep"] for r in reps] == [1, 2, 3, 4]
    assert [r["success"] for r in reps] == [True, True, False, True]
    assert res["drill"]["reps_succeeded"] == 3 and res["drill"]["success_rate"] == 0.75
    rts = [r["reaction_time_s"] for r in reps]  # each contraction starts 0.3 s after its cue
    assert float(np.median(rts)) == pytest.approx(0.3, abs=0.03)
    assert all(abs(rt - 0.3) < 0.1 for rt in rts)
    assert all(r["recorded"]["reaction_time_s"] == 0.3 for r in reps)


# --------------------------------------------------------------------------- real recordings


def _real(realdata: Path, rel: str, **kw) -> dict:
    return analyze_file(realdata / rel, AnalysisSettings(**kw))


def _covers(acts: list[dict], lo: float, hi: float) -> bool:
    return any(a["onset_s"] < hi and a["offset_s"] > lo for a in acts)


@pytest.mark.realdata
def test_real_ganglion_r0_five_epochs_and_flat_channels(realdata: Path) -> None:
    res = _real(realdata, "openbci_ganglion_myoware_s05/OpenBCI-RAW-S05_S1R0.txt")
    acts = res["channels"][0]["activations"]
    for lo, hi in [(33.8, 38.2), (56.1, 59.6), (74.1, 78.8), (84.1, 88.3), (112.7, 116.5)]:
        assert _covers(acts, lo, hi), (lo, hi)
    for ch in res["channels"][2:]:
        assert ch["status"] == "flat" and ch["activations"] == [] and "flat" in ch["reason"]
    assert res["quality"]["dropped_packets"] == 0


@pytest.mark.realdata
def test_real_biosppy_bursts(realdata: Path) -> None:
    res = _real(realdata, "biosppy_emg1/emg_1.txt")
    acts = res["channels"][0]["activations"]
    for lo, hi in [(1.44, 1.87), (15.47, 17.03), (25.61, 25.87), (26.38, 26.67), (38.48, 39.09)]:
        assert _covers(acts, lo, hi), (lo, hi)
    assert res["units"] == "counts"


@pytest.mark.realdata
def test_real_low_snr_has_no_confident_activation(realdata: Path) -> None:
    res = _real(realdata, "biosppy_emg_lowsnr/emg.txt")
    ch = res["channels"][0]
    assert ch["n_activations"] <= 3 and ch["n_confident"] == 0


@pytest.mark.realdata
def test_real_chest_heartbeats_not_activations(realdata: Path) -> None:
    res = _real(realdata, "chest_ecg_contaminated/Chest_lifting.csv")
    ch = res["channels"][0]
    assert ch["quality"]["ecg"]["contaminated"] and 85 < ch["quality"]["ecg"]["heart_rate_bpm"] < 105
    assert res["settings"]["near_heart"]
    # about 11 lifts, every 10 s; 190 heartbeats would be far more, and none are short QRS blips
    assert 9 <= ch["n_activations"] <= 14
    assert all(a["duration_s"] > 0.3 for a in ch["activations"])


@pytest.mark.realdata
def test_real_cyton_v6_mains_detected(realdata: Path) -> None:
    res = _real(realdata, "openbci_cyton_jawclench/OpenBCI_GUI-v6-blinks-jawClench-alpha.txt", channels=["3"])
    assert res["settings"]["mains_hz"] == 60.0 and res["settings"]["notch_hz"] == [60.0, 70.0]
    assert res["channels"][0]["quality"]["mains_share"] > 0.7
    acts = res["channels"][0]["activations"]
    for lo, hi in [(8.27, 9.70), (11.34, 12.67), (84.23, 85.34)]:  # clench bursts seen on ch2 (0-based)
        assert _covers(acts, lo, hi)
    whole = _real(realdata, "openbci_cyton_jawclench/OpenBCI_GUI-v6-blinks-jawClench-alpha.txt")
    assert not whole["settings"]["near_heart"]  # a scalp recording: no channel shows a heart rhythm
    assert not any(ch["quality"]["ecg"]["contaminated"] for ch in whole["channels"])
    assert whole["quality"]["dropped_packets"] == 0 and whole["quality"]["timestamp_rate_hz"] > 249


# --------------------------------------------------------------------------- bad input


def test_all_nan_or_flat_recording_is_an_error_with_reasons(tmp_path: Path) -> None:
    p = tmp_path / "flat.csv"
    t = np.arange(2000) / 500.0
    np.savetxt(
        p,
        np.column_stack([t, np.zeros_like(t), np.full_like(t, np.nan)]),
        delimiter=",",
        header="time,a,b",
        comments="",
    )
    res = analyze_file(p)
    assert res["error"].startswith("no usable channel")
    assert res["channels"][0]["status"] == "flat" and res["channels"][1]["status"] == "no-data"


def test_unknown_channel_and_short_recording() -> None:
    rec = Recording(data_uv=np.zeros((2, 5000)), fs_hz=1000.0, channel_names=["a", "b"])
    with pytest.raises(ConfigError, match="unknown channel 'z'"):
        analyze_recording(rec, AnalysisSettings(channels=["z"]))
    short = Recording(data_uv=np.ones((1, 100)), fs_hz=1000.0, channel_names=["a"])
    with pytest.raises(RecordingError, match="at least 1 s"):
        analyze_recording(short)
    slow = Recording(data_uv=np.ones((1, 1000)), fs_hz=50.0, channel_names=["a"])
    with pytest.raises(RecordingError, match="too low"):
        analyze_recording(slow)


def test_channels_selected_by_number_name_and_muscle() -> None:
    g = contractions(250.0, 20, n_contractions=2, n_channels=3, seed=1)
    rec = Recording(data_uv=g.x_uv, fs_hz=250.0, channel_names=["a", "b", "c"], muscles=["vl", "vm", "rf"])
    res = analyze_recording(rec, AnalysisSettings(channels=["3", "a", "vm"])).to_dict()
    assert [c["name"] for c in res["channels"]] == ["c", "a", "b"]
    assert [c["index"] for c in res["channels"]] == [2, 0, 1]


def test_events_do_not_break_a_recording_without_reps() -> None:
    g = contractions(250.0, 20, n_contractions=2, seed=1)
    rec = Recording(
        data_uv=g.x_uv,
        fs_hz=250.0,
        channel_names=["a"],
        events=[Event("mark", 100, 0.4, {}), Event("drill_end", 4000, 16.0, {"summary": {"x": 1}})],
    )
    res = analyze_recording(rec).to_dict()
    assert res["reps"] == [] and res["drill"] == {"summary": {"x": 1}}


def test_recorded_drill_is_replayed_and_agrees(tmp_path: Path) -> None:
    """A drill run over the causal % of reference (as live), recorded with its config; the analysis replays
    it with feedback.replay.replay_drill from the sidecar and gets the same reps."""
    from dsp.calibration import Calibration
    from dsp.pipeline import emg_process
    from feedback.drill_config import load_drill
    from feedback.replay import replay_drill

    fs = 250.0
    drills = Path(__file__).resolve().parents[1] / "feedback" / "drills"
    config = load_drill(drills / "reach_hold_demo.toml")
    g = contractions(fs, 40, n_contractions=3, on_s=(3.5, 3.5), snr=(3.3, 3.3), seed=31)
    cal = Calibration(
        rest_floor_uv=np.array([3.0]),
        rest_sd_uv=np.array([0.5]),
        reference_uv=np.array([23.0]),
        channel_names=["ch1"],
        fs_hz=fs,
        envelope="adaptive",
        kind="mvc",
        reference_level_pct=100.0,
    )
    _, env = emg_process(g.x_uv, fs, mains_hz=50, envelope="adaptive", zero_phase=False)
    live_events, live_summary = replay_drill(
        config, cal.activation_pct(env), fs_hz=fs, channel_names=["ch1"], stop_at_end=True
    )
    events = [{"label": e.label, "time_s": e.t_s, "data": e.data} for e in live_events]
    path = write_project_recording(
        tmp_path / "drill",
        g.x_uv,
        fs,
        events=events,
        extra_meta={
            "calibration": cal.to_dict(),
            "drill": config.to_dict(),
            "filters": {"mains_hz": 50, "near_heart": False},
        },
    )
    res = analyze_file(path)
    live_results = [e.data["result"] for e in live_events if e.label == "rep_end"]
    assert len(live_results) == 3
    assert [r["result"] for r in res["reps"]] == live_results
    replay = res["drill"]["replay"]
    assert replay["agrees_with_recorded"] is True and replay["results"] == live_results
    # every metric agrees (the file keeps 6 decimals of each sample, so levels may differ in the last digits)
    live_ends = [e.data for e in live_events if e.label == "rep_end"]
    for got, want in zip(replay["reps"], live_ends, strict=True):
        assert set(got) == set(want)
        for key, val in want.items():
            if isinstance(val, float):
                assert got[key] == pytest.approx(val, rel=1e-3, abs=1e-3), key
            else:
                assert got[key] == val, key
    assert res["drill"]["reps_succeeded"] == live_summary.get("succeeded", sum(r == "success" for r in live_results))
    for r in res["reps"]:
        assert r["time_in_band_s"] is not None and r["reaction_time_s"] is not None


def test_cocontraction_is_relative_effort_only_with_a_calibration() -> None:
    """An antagonist firing with the agonist at a tenth of its amplitude: without a calibration the index
    measures pattern overlap (high) and says so; with both muscles calibrated to the same reference it
    is relative effort (low)."""
    fs, n = 1000.0, 30_000
    rng = np.random.default_rng(4)
    drive = np.zeros(n)
    for start in (5_000, 15_000, 25_000):
        drive[start : start + 3_000] = 1.0
    x = np.vstack(
        [rng.normal(0, 2, n) + rng.normal(0, 100, n) * drive, rng.normal(0, 2, n) + rng.normal(0, 10, n) * drive]
    )
    rec = Recording(data_uv=x, fs_hz=fs, channel_names=["agonist", "antagonist"])
    own = analyze_recording(rec, AnalysisSettings(mains_hz=None)).to_dict()["cocontraction"][0]
    assert own["normalisation"].startswith("own peak")
    assert own["index_pct"] > 70.0
    from dsp.calibration import Calibration

    cal = Calibration(
        rest_floor_uv=[1.6, 1.6],
        rest_sd_uv=[0.5, 0.5],
        reference_uv=[80.0, 80.0],
        channel_names=["agonist", "antagonist"],
        fs_hz=fs,
    )
    rel = analyze_recording(rec, AnalysisSettings(mains_hz=None, calibration=cal)).to_dict()["cocontraction"][0]
    assert rel["normalisation"] == "% of reference"
    assert 5.0 < rel["index_pct"] < 30.0  # 10 % of the agonist's effort: 200 * 0.1 / 1.1 = 18 %
