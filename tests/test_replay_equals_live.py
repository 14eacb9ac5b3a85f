"""Offline equals live: the analysis' causal replay of a drill recording gives the live reps exactly.

Each shipped drill (``feedback/drills/*.toml``, read at run time) runs in the real :class:`emg.live.session.Session`
on BrainFlow's playback board playing a simulated recording as fast as it can (a few seconds of session each,
with a saved calibration); then :func:`emg.analysis.drill.replay_drill_recording` replays the session's recording
and must give the same reps, results and metrics as the live ``rep_end`` events and the live summary. One more
test runs the real headless demo (calibration in the session, then the drill) through ``emg analyze --causal``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dsp.calibration import Calibration
from emg.analysis.drill import replay_drill_recording
from emg.recordings.readers import read_recording
from feedback.calibration_store import read_calibration, write_calibration
from feedback.drills import find_drill, load_drill, make_drill, shipped_drills

SESSION_S = 90.0  # session time per drill (the 12 s recording played in a loop, fast: about 1 s each)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """A simulated 2-muscle Cyton recording (reps with artefacts) to play back into the sessions."""
    from emg.cli import main

    out = tmp_path_factory.mktemp("sim") / "sim.csv"
    args = ["simulate", "--scenario", "reps", "--duration", "12", "--seed", "2", "--out", str(out)]
    assert main(args) == 0
    return out


def _calibration(path: Path, folder: Path) -> Path:
    """A saved calibration for the simulated patient: rest floor and a reference from its own envelope."""
    rec = read_recording(path)
    from dsp.pipeline import emg_process

    _, env = emg_process(rec.data_uv, rec.fs_hz, mains_hz=50.0, zero_phase=False, envelope="adaptive")
    cal = Calibration(
        rest_floor_uv=np.percentile(env, 5, axis=1),
        rest_sd_uv=np.std(env[:, : int(rec.fs_hz)], axis=1) + 0.1,
        reference_uv=2.0 * np.percentile(env, 97, axis=1),  # its contractions near 50 % of reference
        channel_names=list(rec.muscles),
        fs_hz=rec.fs_hz,
        envelope="adaptive",
        meta={"board": "cyton"},
    )
    return write_calibration(cal, folder / "cal.json")


def _live_session(drill_path: Path, played: Path, cal_file: Path, out: Path) -> dict:
    from emg.acquire.acquisition import Acquisition
    from emg.live.session import Session

    config = load_drill(drill_path)
    session = Session(
        lambda part, path: Acquisition("playback", playback_file=played, fast=True, loop=True, record_to=path),
        lambda fs, n, names: make_drill(config, fs_hz=fs, n_channels=n, channel_names=names),
        read_calibration(cal_file),
        record_to=out,
        headless=True,
        show_view=False,
        duration_s=SESSION_S,
        mains_hz=50.0,
        channels=[0, 1],
    )
    return session.run().summary


@pytest.mark.parametrize("drill_path", shipped_drills(), ids=lambda p: p.stem)
def test_replay_of_a_live_session_equals_it(tmp_path, simulated, drill_path):
    cal_file = _calibration(simulated, tmp_path)
    summary = _live_session(drill_path, simulated, cal_file, tmp_path / "live.csv")
    rec = read_recording(tmp_path / "live.csv")
    cal = Calibration.from_dict(rec.meta["calibration"])
    live_ends = [e.data for e in rec.events if e.label == "rep_end"]
    assert live_ends, "the session must have finished reps to compare"
    out = replay_drill_recording(
        rec, cal, [{k: d.get(k) for k in ("set", "rep", "result")} for d in live_ends], 50.0, False
    )
    assert "error" not in out, out.get("error")
    assert out["differences"] == [], out["differences"]
    assert out["agrees_with_recorded"] is True
    assert out["exact_input"] is True and out["level_tolerance_pct"] == 0.0  # compared to the last bit
    assert out["reps"] == json.loads(json.dumps(live_ends)) == summary["reps"]
    assert out["results"] == [d["result"] for d in live_ends]


@pytest.mark.parametrize("drill_name", ["reach_hold_quadriceps", "awareness_fading"])
def test_keys_pressed_live_are_replayed(tmp_path, simulated, drill_name):
    """The therapist pauses (space) and resumes between two chunks, the patient keys in estimates: through the
    real view's signals, as live. The recording holds each key on the last sample received before it; the replay
    applies it there and agrees to the sample."""
    from emg.acquire.acquisition import Acquisition, Chunk
    from emg.live.session import Session

    config = load_drill(find_drill(drill_name))

    class Keys(Session):
        paused = resumed = False
        estimates = 0

        def process(self, chunk) -> None:  # keys between chunks of at most 25 samples (fast playback sends more)
            for i in range(0, chunk.n_samples, 25):
                j = min(chunk.n_samples, i + 25)
                gaps = tuple(k - i for k in chunk.gaps_at if i <= k < j)
                rows = chunk.rows[:, i:j]
                accel = None if chunk.accel is None else chunk.accel[:, i:j]
                part = Chunk(chunk.data_uv[:, i:j], chunk.timestamps[i:j], rows, accel, chunk.first_sample + i)
                part.gaps_at = gaps
                super().process(part)
                self.keys()

        def keys(self) -> None:
            if self.view is None or not self.in_drill:
                return
            if getattr(self.drill, "phase", None) == "estimate" and not self.drill.paused:
                self.estimates += 1
                self.view.estimate_entered.emit(20.0 + self.estimates)
            if not self.paused and self.samples_total >= 2500:
                self.paused = True
                self.view.pause_toggled.emit(True)
            elif self.paused and not self.resumed and self.samples_total >= 3300:
                self.resumed = True
                self.view.pause_toggled.emit(False)

    session = Keys(
        lambda part, path: Acquisition("playback", playback_file=simulated, fast=True, loop=True, record_to=path),
        lambda fs, n, names: make_drill(config, fs_hz=fs, n_channels=n, channel_names=names),
        read_calibration(_calibration(simulated, tmp_path)),
        record_to=tmp_path / "keys.csv",
        headless=True,
        show_view=True,
        duration_s=SESSION_S,
        mains_hz=50.0,
        channels=[0, 1],
    )
    summary = session.run().summary
    rec = read_recording(tmp_path / "keys.csv")
    labels = [e.label for e in rec.events]
    assert "pause" in labels and "resume" in labels
    if drill_name == "awareness_fading":
        assert "estimate" in labels
    live_ends = [e.data for e in rec.events if e.label == "rep_end"]
    out = replay_drill_recording(rec, Calibration.from_dict(rec.meta["calibration"]), [], 50.0, False)
    assert out["differences"] == [] and out["exact_input"] is True
    assert out["reps"] == json.loads(json.dumps(live_ends)) == summary["reps"] and live_ends


def test_a_rep_that_differs_is_named(tmp_path, simulated):
    """The comparison is not blind: a recording whose live rep metric was changed disagrees, naming rep and metric."""
    drill = next(p for p in shipped_drills() if p.stem == "reach_hold_demo")
    cal_file = _calibration(simulated, tmp_path)
    _live_session(drill, simulated, cal_file, tmp_path / "live.csv")
    rec = read_recording(tmp_path / "live.csv")
    end = next(e for e in rec.events if e.label == "rep_end")
    end.data["time_in_band_s"] = (end.data.get("time_in_band_s") or 0.0) + 0.004
    out = replay_drill_recording(rec, Calibration.from_dict(rec.meta["calibration"]), [], 50.0, False)
    assert out["agrees_with_recorded"] is False
    assert {"set": end.data["set"], "rep": end.data["rep"], "what": "time_in_band_s"}.items() <= out["differences"][
        0
    ].items()


def test_headless_demo_analysis_replays_the_live_reps(headless_demo, capsys):
    """The issue's claim on a real headless demo: the drill (not the calibration) is named, its causal replay
    agrees with live, and every rep's reaction time, time to band and time in band equal the live summary's."""
    from emg.cli import main

    code, printed, out = headless_demo
    assert code == 0, printed
    live = json.loads((out / "demo.summary.json").read_text())
    capsys.readouterr()
    assert main(["analyze", str(out / "demo.csv"), "--causal", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    drill = res["drill"]
    assert drill["kind"] == "reach_hold" and drill["name"] == live["drill"]["name"]
    replay = drill["replay"]
    assert replay["agrees_with_recorded"] is True and replay["differences"] == []
    assert replay["exact_input"] is True  # the Cyton's samples restored from the file's 6 decimals, bit for bit
    assert replay["reps"] == live["reps"] and len(live["reps"]) == len(res["reps"]) >= 1
    assert replay["start_s"] > 0  # the drill began after the in-session calibration
    keys = ("reaction_time_s", "time_to_band_s", "time_in_band_s")
    for rep, want in zip(res["reps"], live["reps"], strict=True):
        assert [rep[k] for k in keys] == [want[k] for k in keys]
