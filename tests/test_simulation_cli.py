"""`emg simulate`: a recording in the project's format with its ground truth; bad input as one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emg.cli import main


def test_simulate_writes_a_readable_recording_with_ground_truth(tmp_path, capsys):
    out = tmp_path / "sim.csv"
    code = main(
        [
            "simulate",
            "--scenario",
            "artefact_tour",
            "--duration",
            "56",
            "--fs",
            "250",
            "--channels",
            "8",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "sim.csv" in printed and "sinc^3" in printed and "dropped x1" in printed
    from brainflow.data_filter import DataFilter

    from emg.recordings.recording import load_recording
    from emg.simulation.writer import load_truth

    rows = DataFilter.read_file(str(out))
    assert rows.shape[0] == 24  # the Cyton's row layout
    rec = load_recording(out)
    side = json.loads(out.with_suffix(".json").read_text())
    gt = side["ground_truth"]
    assert side["simulated"] is True and side["board_name"] == "cyton" and side["sampling_rate"] == 250.0
    dropped = [a for a in gt["artefacts"] if a["kind"] == "dropped"][0]
    assert rec.n_samples == 56 * 250 - dropped["packets"]
    # the package counter jumps over the dropped packets, exactly there
    jumps = np.flatnonzero(np.diff(rec.package_num) % 256 != 1)
    assert jumps.tolist() == [dropped["start_sample"] - 1]
    assert (rec.package_num[jumps[0] + 1] - rec.package_num[jumps[0]]) % 256 == dropped["packets"] + 1
    truth = load_truth(out)
    assert truth["activation"].shape == (8, 56 * 250)
    assert truth["dropped"].sum() == dropped["packets"]
    kept = truth["activation"][:, ~truth["dropped"]]
    assert kept.shape[1] == rec.n_samples
    # cues are events of the recording, at the right rows
    cues = [e for e in rec.events if e.label == "cue"]
    assert [c.data["phase"] for c in cues[:3]] == ["rest", "contract", "hold"]
    assert cues[1].sample == 3 * 250
    assert {"activations", "artefacts", "channels", "cues", "onset_rule", "truth_file"} <= set(gt)
    assert gt["channels"][0]["reference_uv"] == 300.0
    assert 0 < gt["channels"][0]["reference_uv_at_board"] < 300.0
    assert rec.channel_names[:2] == ["vastus_medialis", "biceps_femoris"]
    # railing is in the file at the ADC limit
    rail = [a for a in gt["artefacts"] if a["kind"] == "railing"][0]
    assert np.all(np.abs(rec.data_uv[0, rail["start_sample"] : rail["end_sample"]]) == pytest.approx(187500.0))


def test_simulate_at_1khz_uses_the_synthetic_layout(tmp_path, capsys):
    out = tmp_path / "k.csv"
    assert (
        main(
            ["simulate", "--duration", "5", "--fs", "1000", "--channels", "16", "--out", str(out), "--without", "mains"]
        )
        == 0
    )
    from emg.recordings.recording import load_recording

    rec = load_recording(out)
    assert rec.fs_hz == 1000.0 and rec.data_uv.shape == (16, 5000)
    assert rec.meta["board_name"] == "synthetic"


def test_same_seed_same_file(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for p in (a, b):
        assert main(["simulate", "--duration", "6", "--seed", "7", "--out", str(p)]) == 0
    data_a = np.loadtxt(a, delimiter="\t")
    data_b = np.loadtxt(b, delimiter="\t")
    ts = 22  # timestamps differ (wall clock); everything else is identical
    assert np.array_equal(np.delete(data_a, ts, axis=1), np.delete(data_b, ts, axis=1))


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--patient", "no_such"], "unknown patient preset"),
        (["--scenario", "no_such"], "unknown scenario"),
        (["--fs", "80"], "too low"),
        (["--duration", "-2"], "--duration"),
        (["--band", "20", "700", "--fs", "1000"], "Nyquist"),
        (["--channels", "9", "--fs", "250", "--board", "cyton"], "do not fit"),
        (["--scenario", "/nonexistent/x.toml"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, argv, words):
    out = tmp_path / "bad.csv"
    code = main(["simulate", "--duration", "3", "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("error: ") and words in err and err.count("\n") == 1
    assert not out.exists()


def test_custom_preset_with_negative_amplitude(tmp_path, capsys):
    bad = tmp_path / "p.toml"
    bad.write_text('[[muscles]]\nname = "deltoid"\nreference_uv = -10\n')
    code = main(["simulate", "--patient", str(bad), "--duration", "3", "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "reference_uv = -10" in err and err.count("\n") == 1


def test_existing_output_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "once.csv"
    assert main(["simulate", "--duration", "3", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["simulate", "--duration", "3", "--out", str(out)]) != 0
    assert "already exists" in capsys.readouterr().err
    assert main(["simulate", "--duration", "3", "--out", str(out), "--force"]) == 0


def test_start_time_dates_a_simulated_session(tmp_path, capsys):
    out = tmp_path / "s3.csv"
    assert (
        main(["simulate", "--duration", "4", "--session", "3", "--start", "2026-03-02T10:00", "--out", str(out)]) == 0
    )
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["start_time"].startswith("2026-03-02T10:00:00")
    assert side["ground_truth"]["session"] == 3
    from emg.recordings.recording import load_recording

    rec = load_recording(out)
    assert rec.timestamps[0] == pytest.approx(1772445600.0)
    assert main(["simulate", "--duration", "4", "--start", "last tuesday", "--out", str(tmp_path / "x.csv")]) == 2
    assert "--start" in capsys.readouterr().err
