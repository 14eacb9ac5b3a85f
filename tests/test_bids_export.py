"""BIDS-EMG export: the tree's required files and fields, sessions added without clobbering."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from test_export_edf import EVENTS, make_recording

from emg.cli import main
from emg.errors import ConfigError
from emg.export import export_bids, load_for_export
from emg.export.bids import validate_bids_emg


def tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture()
def rec(tmp_path: Path):
    make_recording(tmp_path / "s1.csv")
    return load_for_export(tmp_path / "s1.csv")


def test_new_dataset_has_required_files_and_fields(rec, tmp_path: Path) -> None:
    root = tmp_path / "study"
    res = export_bids(rec, root, subject="P01", session="1", task="reachhold", power_line_hz=50)
    assert res.created_dataset
    emg = root / "sub-P01" / "ses-1" / "emg"
    stem = "sub-P01_ses-1_task-reachhold"
    assert res.data_file == emg / f"{stem}_emg.bdf"
    for name in (
        f"{stem}_emg.bdf",
        f"{stem}_emg.json",
        f"{stem}_channels.tsv",
        f"{stem}_events.tsv",
        f"{stem}_events.json",
    ):
        assert (emg / name).is_file(), name
    desc = json.loads((root / "dataset_description.json").read_text())
    assert desc["BIDSVersion"] == "1.11.0" and desc["DatasetType"] == "raw" and desc["Name"]
    assert desc["GeneratedBy"][0]["Name"] == "emg-biofeedback"

    side = json.loads((emg / f"{stem}_emg.json").read_text())
    assert side["TaskName"] == "reachhold"
    assert side["SamplingFrequency"] == 250.0 and side["PowerLineFrequency"] == 50.0
    assert side["EMGChannelCount"] == 8
    assert side["EMGPlacementScheme"] == "Other" and side["EMGPlacementSchemeDescription"]
    assert side["EMGReference"] == "Bipolar"
    assert side["HardwareFilters"] == {
        "ADS1299 sinc3 decimation filter": {"-3 dB cutoff (Hz)": 65.5, "ADC data rate (SPS)": 250}
    }
    assert side["SoftwareFilters"] == "n/a"  # the data are raw
    assert side["RecordingType"] == "continuous"
    assert side["RecordingDuration"] == pytest.approx(7503 / 250)
    assert side["Manufacturer"] == "OpenBCI" and side["Gain"] == 24.0
    assert "20-100 Hz" in side["LiveFeedbackFilters"]

    chans = tsv(emg / f"{stem}_channels.tsv")
    with (emg / f"{stem}_channels.tsv").open() as fh:
        header = fh.readline().rstrip("\n").split("\t")
    assert header[:3] == ["name", "type", "units"]
    assert {"signal_electrode", "reference", "target_muscle"} <= set(header)
    reader = pyedflib.EdfReader(str(res.data_file))
    labels = [reader.getLabel(i) for i in range(reader.signals_in_file)]
    reader.close()
    assert [c["name"] for c in chans] == labels
    assert [c["target_muscle"] for c in chans[:3]] == [
        "vastus medialis L",
        "vastus medialis R",
        "rectus femoris (left)",
    ]
    assert chans[3]["target_muscle"] == "n/a"
    assert all(c["type"] == "EMG" and c["units"] == "uV" and c["reference"] == "bipolar" for c in chans)
    assert all(c["high_cutoff"] == "65.5" for c in chans)

    events = tsv(emg / f"{stem}_events.tsv")
    assert [(e["trial_type"], int(e["sample"])) for e in events] == [(lab, s) for lab, s, _ in EVENTS]
    assert [float(e["onset"]) for e in events] == [s / 250 for _, s, _ in EVENTS]
    assert json.loads(events[3]["data"]) == EVENTS[3][2]  # full event data, not cut like EDF+
    assert events[4]["data"] == "n/a" and events[4]["duration"] == "n/a"
    levels = json.loads((emg / f"{stem}_events.json").read_text())["trial_type"]["Levels"]
    assert sorted(levels) == sorted(lab for lab, _, _ in EVENTS)
    assert levels["rep_start"].startswith("a rep began")
    assert tsv(root / "participants.tsv") == [{"participant_id": "sub-P01"}]
    scans = tsv(root / "sub-P01" / "ses-1" / "sub-P01_ses-1_scans.tsv")
    assert scans[0]["filename"] == f"emg/{stem}_emg.bdf" and scans[0]["acq_time"].endswith("Z")
    assert [r["session_id"] for r in tsv(root / "sub-P01" / "sub-P01_sessions.tsv")] == ["ses-1"]
    assert validate_bids_emg(root) == []


def test_sessions_and_subjects_are_added_without_clobbering(rec, tmp_path: Path) -> None:
    root = tmp_path / "study"
    export_bids(rec, root, subject="P01", session="1", task="reachhold")
    before = digest(root)
    res = export_bids(rec, root, subject="P01", session="2", task="reachhold")
    assert not res.created_dataset
    after = digest(root)
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == {"sub-P01/sub-P01_sessions.tsv"}  # only the sessions table gained a row
    assert [r["session_id"] for r in tsv(root / "sub-P01" / "sub-P01_sessions.tsv")] == ["ses-1", "ses-2"]
    export_bids(rec, root, subject="P02", session="1", task="reachhold")
    export_bids(rec, root, subject="P01", session="2", task="reachhold", run=2)
    assert [r["participant_id"] for r in tsv(root / "participants.tsv")] == ["sub-P01", "sub-P02"]
    scans = tsv(root / "sub-P01" / "ses-2" / "sub-P01_ses-2_scans.tsv")
    assert [s["filename"] for s in scans] == [
        "emg/sub-P01_ses-2_task-reachhold_emg.bdf",
        "emg/sub-P01_ses-2_task-reachhold_run-2_emg.bdf",
    ]
    final = digest(root)
    grown_tables = {"sub-P01/sub-P01_sessions.tsv", "participants.tsv", "sub-P01/ses-2/sub-P01_ses-2_scans.tsv"}
    assert all(final[k] == after[k] for k in after if k not in grown_tables)  # every data file untouched
    assert validate_bids_emg(root) == []


def test_existing_recording_is_refused_unless_forced(rec, tmp_path: Path) -> None:
    root = tmp_path / "study"
    export_bids(rec, root, subject="P01", session="1", task="reachhold")
    before = digest(root)
    with pytest.raises(ConfigError, match="already exists.*--run N.*--force"):
        export_bids(rec, root, subject="P01", session="1", task="reachhold")
    assert digest(root) == before
    rec.data_uv = rec.data_uv * 2
    export_bids(rec, root, subject="P01", session="1", task="reachhold", force=True)
    after = digest(root)
    assert (
        after["sub-P01/ses-1/emg/sub-P01_ses-1_task-reachhold_emg.bdf"]
        != before["sub-P01/ses-1/emg/sub-P01_ses-1_task-reachhold_emg.bdf"]
    )
    assert after["dataset_description.json"] == before["dataset_description.json"]
    assert len(tsv(root / "sub-P01" / "ses-1" / "sub-P01_ses-1_scans.tsv")) == 1
    assert validate_bids_emg(root) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"subject": "", "task": "rest"}, "pass --subject"),
        ({"subject": "P01", "task": None}, "pass --task"),
        ({"subject": "P 01", "task": "rest"}, "only letters and digits; use e.g. 'P01'"),
        ({"subject": "P01", "task": "rest", "run": "two"}, "run must be a number"),
    ],
)
def test_missing_or_bad_entities_write_nothing(rec, tmp_path: Path, kwargs, message) -> None:
    root = tmp_path / "study"
    with pytest.raises(ConfigError, match=message):
        export_bids(rec, root, **kwargs)
    assert not root.exists()


def test_refuses_foreign_folder_and_session_layout_clash(rec, tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"x")
    with pytest.raises(ConfigError, match="not empty and is not a BIDS dataset"):
        export_bids(rec, foreign, subject="P01", task="rest")
    assert sorted(p.name for p in foreign.iterdir()) == ["cat.jpg"]
    root = tmp_path / "study"
    export_bids(rec, root, subject="P01", session="1", task="rest")
    with pytest.raises(ConfigError, match="already has sessions.*pass --session"):
        export_bids(rec, root, subject="P01", task="rest")
    export_bids(rec, root, subject="P02", task="rest")
    with pytest.raises(ConfigError, match="without a session"):
        export_bids(rec, root, subject="P02", session="1", task="rest")


def test_bids_data_read_back_by_the_project_reader(rec, tmp_path: Path) -> None:
    """`emg analyze` on the BIDS BDF: the project's reader gets the data and events back."""
    from emg.recordings.readers import read_recording

    res = export_bids(rec, tmp_path / "study", subject="P01", task="reachhold")
    back = read_recording(res.data_file)
    assert back.fs_hz == 250.0 and back.n_samples == rec.n_samples
    # events.tsv beside the BDF gives the whole labels and each event's data (EDF+ keeps 40 characters)
    assert [(e.label, e.sample, e.data) for e in back.events] == [(lab, s, d) for lab, s, d in EVENTS]
    assert back.meta["events_source"] == "BIDS events.tsv"
    np.testing.assert_allclose(back.data_uv[:7], rec.data_uv[:7], atol=1e-3)


def test_cli_bids_export_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    make_recording(tmp_path / "s.csv")
    root = tmp_path / "ds"
    assert main(["export", str(tmp_path / "s.csv"), "--to", "bids", "--out", str(root), "--task", "mvc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --to bids needs --subject") and err.count("\n") == 1
    assert not root.exists()
    assert (
        main(
            [
                "export",
                str(tmp_path / "s.csv"),
                "--to",
                "bids",
                "--out",
                str(root),
                "--subject",
                "P07",
                "--session",
                "pre",
                "--task",
                "mvc",
                "--mains",
                "60",
                "--authors",
                "A. Therapist, B. Researcher",
                "--license",
                "CC0-1.0",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "added sub-P07/ses-pre/emg/sub-P07_ses-pre_task-mvc_emg.bdf to new BIDS dataset" in out
    side = json.loads((root / "sub-P07/ses-pre/emg/sub-P07_ses-pre_task-mvc_emg.json").read_text())
    assert side["PowerLineFrequency"] == 60.0
    desc = json.loads((root / "dataset_description.json").read_text())
    assert desc["Authors"] == ["A. Therapist", "B. Researcher"] and desc["License"] == "CC0-1.0"
    assert (
        main(
            [
                "export",
                str(tmp_path / "s.csv"),
                "--to",
                "bids",
                "--out",
                str(root),
                "--subject",
                "P07",
                "--session",
                "pre",
                "--task",
                "mvc",
            ]
        )
        == 2
    )
    assert "already exists" in capsys.readouterr().err
    assert validate_bids_emg(root) == []


def test_validator_catches_a_broken_tree(rec, tmp_path: Path) -> None:
    """The checks the tests rely on do fail on a damaged dataset."""
    root = tmp_path / "study"
    res = export_bids(rec, root, subject="P01", task="rest")
    side_path = res.data_file.with_name("sub-P01_task-rest_emg.json")
    side = json.loads(side_path.read_text())
    del side["EMGReference"]
    side["SamplingFrequency"] = 500
    side_path.write_text(json.dumps(side))
    (root / "participants.tsv").write_text("participant_id\n")
    problems = validate_bids_emg(root)
    assert any("lacks EMGReference" in p for p in problems)
    assert any("SamplingFrequency 500" in p for p in problems)
    assert any("participants.tsv lacks sub-P01" in p for p in problems)


def test_emg_analyze_reads_the_bids_bdf(rec, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Import back: `emg analyze --json` on the exported BDF+ (the burst on ch1 is found)."""
    rec.data_uv, rec.channel_names, rec.muscles = rec.data_uv[:2], rec.channel_names[:2], rec.muscles[:2]
    res = export_bids(rec, tmp_path / "study", subject="P01", task="reachhold")
    capsys.readouterr()
    assert main(["analyze", str(res.data_file), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sampling_rate"] == 250.0 and report["n_samples"] == 7503
    assert [c["name"] for c in report["channels"]] == res.edf.labels
    burst = report["channels"][0]["activations"]
    assert len(burst) == 1 and abs(burst[0]["onset_s"] - 7503 // 3 / 250) < 0.1


def test_accelerometer_channels_are_misc_in_bids(rec, tmp_path: Path) -> None:
    res = export_bids(rec, tmp_path / "study", subject="P01", task="balance", include_accel=True)
    chans = tsv(res.data_file.with_name("sub-P01_task-balance_channels.tsv"))
    assert [c["type"] for c in chans] == ["EMG"] * 8 + ["MISC"] * 3
    assert [c["units"] for c in chans[8:]] == ["g", "g", "g"]
    side = json.loads(res.data_file.with_name("sub-P01_task-balance_emg.json").read_text())
    assert side["EMGChannelCount"] == 8
    assert validate_bids_emg(tmp_path / "study") == []


def test_lab_metadata_file_fills_recommended_fields(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    make_recording(tmp_path / "s.csv")
    meta = tmp_path / "lab.json"
    meta.write_text(
        json.dumps(
            {
                "InstitutionName": "Rehab Clinic",
                "ElectrodeManufacturer": "Ambu",
                "InterelectrodeDistance": 20,
                "EMGGround": "patella",
            }
        )
    )
    root = tmp_path / "ds"
    assert (
        main(
            [
                "export",
                str(tmp_path / "s.csv"),
                "--to",
                "bids",
                "--out",
                str(root),
                "--subject",
                "P01",
                "--task",
                "mvc",
                "--bids-meta",
                str(meta),
                "--task-description",
                "maximal contractions",
            ]
        )
        == 0
    )
    side = json.loads((root / "sub-P01/emg/sub-P01_task-mvc_emg.json").read_text())
    assert side["InstitutionName"] == "Rehab Clinic" and side["InterelectrodeDistance"] == 20
    assert side["EMGGround"] == "patella" and side["TaskDescription"] == "maximal contractions"
    meta.write_text(json.dumps({"SamplingFrequency": 1000}))
    assert (
        main(
            [
                "export",
                str(tmp_path / "s.csv"),
                "--to",
                "bids",
                "--out",
                str(root),
                "--subject",
                "P02",
                "--task",
                "mvc",
                "--bids-meta",
                str(meta),
            ]
        )
        == 2
    )
    assert "may not set SamplingFrequency" in capsys.readouterr().err
    assert not (root / "sub-P02").exists()
    meta.write_text("{not json")
    assert (
        main(
            [
                "export",
                str(tmp_path / "s.csv"),
                "--to",
                "bids",
                "--out",
                str(root),
                "--subject",
                "P02",
                "--task",
                "mvc",
                "--bids-meta",
                str(meta),
            ]
        )
        == 2
    )
    assert "is not valid JSON" in capsys.readouterr().err


def test_bids_events_read_back_with_their_data(rec, tmp_path: Path) -> None:
    from emg.recordings.bids_events import read_bids_events

    res = export_bids(rec, tmp_path / "study", subject="P01", task="reachhold")
    events = read_bids_events(res.data_file)
    assert [(e.label, e.sample, e.data) for e in events] == [(lab, s, d) for lab, s, d in EVENTS]
    assert events[1].time_s == pytest.approx(2990 / 250)
    assert read_bids_events(tmp_path / "elsewhere.bdf") is None


def test_session_next_numbers_the_sessions(rec, tmp_path: Path) -> None:
    root = tmp_path / "study"
    labels = [
        export_bids(rec, root, subject="P01", session="next", task="reachhold").data_file.parent.parent.name
        for _ in range(3)
    ]
    assert labels == ["ses-1", "ses-2", "ses-3"]
    assert [r["session_id"] for r in tsv(root / "sub-P01" / "sub-P01_sessions.tsv")] == labels
    assert validate_bids_emg(root) == []


def test_calibration_is_kept_as_normalization(rec, tmp_path: Path) -> None:
    rec.meta["calibration"] = {
        "kind": "submax",
        "reference_level_pct": 40.0,
        "envelope": "adaptive",
        "channel_names": ["ch1"],
        "reference_uv": [80.0],
        "rest_floor_uv": [2.0],
        "rest_sd_uv": [0.5],
    }
    rec.meta["drill"] = {"kind": "reach_hold", "name": "Quadriceps reach and hold"}
    res = export_bids(rec, tmp_path / "study", subject="P01", task="reachhold")
    side = json.loads(res.data_file.with_name("sub-P01_task-reachhold_emg.json").read_text())
    norm = side["EMGNormalization"]
    assert (norm["Kind"], norm["ReferenceLevelPercentOfMaximum"], norm["Reference_uV"], norm["RestFloor_uV"]) == (
        "submax",
        40.0,
        [80.0],
        [2.0],
    )
    assert side["TaskDescription"] == "biofeedback drill Quadriceps reach and hold (reach_hold)"


def test_a_failed_export_leaves_nothing_behind(rec, tmp_path: Path) -> None:
    from emg.errors import RecordingError

    root = tmp_path / "study"
    rec.data_uv = rec.data_uv * 1e3  # not microvolts: refused by the BDF writer
    with pytest.raises(RecordingError, match="check the units"):
        export_bids(rec, root, subject="P01", session="1", task="rest")
    assert not root.exists()  # a retry starts from a clean slate
    rec.data_uv = rec.data_uv / 1e3
    export_bids(rec, root, subject="P01", session="1", task="rest")
    assert validate_bids_emg(root) == []
