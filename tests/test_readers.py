"""emg.recordings.readers: every supported format, real files from ../shared/realdata, files written and read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from analysis_gen import write_project_recording

from emg.errors import RecordingError
from emg.recordings.readers import find_recordings, read_recording

GANGLION = "openbci_ganglion_myoware_s05/OpenBCI-RAW-S05_S1R0.txt"
CYTON_V6 = "openbci_cyton_jawclench/OpenBCI_GUI-v6-blinks-jawClench-alpha.txt"


# --------------------------------------------------------------------------- real files


@pytest.mark.realdata
def test_openbci_v4_ganglion(realdata: Path) -> None:
    rec = read_recording(realdata / GANGLION)
    assert rec.source_format == "openbci-gui-v4"
    assert rec.fs_hz == 200.0
    assert rec.data_uv.shape == (4, 26474)
    assert rec.data_uv[0, 0] == pytest.approx(22.78) and rec.data_uv[1, 1] == pytest.approx(-4.29)
    assert np.all(rec.data_uv[2:] == 0.0)  # the two unused Ganglion channels
    assert rec.accel is not None and rec.accel.shape == (3, 26474)
    assert rec.package_num is not None and rec.package_num.max() == 200.0
    # wall-clock column -> seconds of day; 200 Hz within 0.1 %
    span = rec.timestamps[-1] - rec.timestamps[0]
    assert (rec.n_samples - 1) / span == pytest.approx(200.0, rel=1e-3)


@pytest.mark.realdata
def test_openbci_v6_cyton(realdata: Path) -> None:
    rec = read_recording(realdata / CYTON_V6)
    assert rec.source_format == "openbci-gui-v6"
    assert rec.fs_hz == 250.0
    assert rec.data_uv.shape == (8, 22490)
    assert rec.data_uv[0, 0] == pytest.approx(61379.36) and rec.data_uv[7, 2] == pytest.approx(2090.85)
    assert rec.accel.shape == (3, 22490) and rec.accel[1, 0] == pytest.approx(0.420)
    assert rec.timestamps[0] == pytest.approx(1557936053.329)  # unix ms -> s
    assert "Cyton" in rec.meta["board_name"]
    assert rec.package_num[:3].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.realdata
def test_simple_text_format(realdata: Path) -> None:
    rec = read_recording(realdata / "biosppy_emg1" / "emg_1.txt")
    assert rec.source_format == "simple-text"
    assert rec.fs_hz == 1000.0 and rec.data_uv.shape == (1, 63880)
    assert rec.channel_names == ["EMG"]
    assert rec.meta["units"] == "counts"  # 12-bit ADC values, no gain in the file
    assert rec.data_uv[0, :3].tolist() == [2034.0, 2011.0, 2004.0]


@pytest.mark.realdata
def test_plain_csv_with_time_column_and_units(realdata: Path) -> None:
    path = realdata / "chest_ecg_contaminated" / "Chest_lifting.csv"
    rec = read_recording(path)
    assert rec.source_format == "csv" and rec.fs_hz == 250.0 and rec.data_uv.shape == (1, 30240)
    assert rec.data_uv[0, 0] == pytest.approx(-3.44e-4)
    volts = read_recording(path, units="V")
    assert volts.data_uv[0, 0] == pytest.approx(-344.0)
    assert volts.meta["units"] == "uV"


@pytest.mark.realdata
def test_find_recordings_skips_provenance(realdata: Path) -> None:
    found = [p.name for p in find_recordings(realdata)]
    assert "PROVENANCE.txt" not in found and "LICENSE.source.txt" not in found
    assert "emg_1.txt" in found and "Chest_lifting.csv" in found and len(found) == 7


# --------------------------------------------------------------------------- project format


def test_project_recording_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(0, 20, (3, 2500)), 6)
    events = [{"label": "rep_start", "time_s": 2.0, "data": {"set": 1, "rep": 1}}]
    path = write_project_recording(
        tmp_path / "s1", x, 250.0, channel_names=["a", "b", "c"], muscles=["quad L", "quad R", "hams"], events=events
    )
    rec = read_recording(path)
    assert rec.source_format == "emg-biofeedback"
    assert rec.fs_hz == 250.0 and rec.channel_names == ["a", "b", "c"]
    assert rec.muscles == ["quad L", "quad R", "hams"]
    np.testing.assert_allclose(rec.data_uv, x, atol=1e-6)
    assert [(e.label, e.sample, e.data) for e in rec.events] == [("rep_start", 500, {"set": 1, "rep": 1})]
    assert rec.meta["units"] == "uV"
    # the sidecar path works too
    assert read_recording(path.with_suffix(".json")).n_samples == 2500


def test_project_sidecar_disagreeing_with_data(tmp_path: Path) -> None:
    path = write_project_recording(tmp_path / "s1", np.zeros((2, 500)), 250.0)
    side = path.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["exg_rows"] = [1, 2, 40]
    side.write_text(json.dumps(meta))
    with pytest.raises(RecordingError, match="sidecar does not match"):
        read_recording(path)


# --------------------------------------------------------------------------- EDF / BDF


@pytest.mark.parametrize(
    "suffix, filetype_name",
    [(".edf", "FILETYPE_EDFPLUS"), (".bdf", "FILETYPE_BDFPLUS"), (".edf", "FILETYPE_EDF"), (".bdf", "FILETYPE_BDF")],
)
def test_edf_bdf_round_trip(tmp_path: Path, suffix: str, filetype_name: str) -> None:
    import pyedflib

    fs = 500
    rng = np.random.default_rng(1)
    x_mv = rng.normal(0, 0.05, (2, fs * 4))  # millivolts in the file
    path = tmp_path / f"rec{suffix}"
    ftype = getattr(pyedflib, filetype_name)
    w = pyedflib.EdfWriter(str(path), 2, file_type=ftype)
    headers = [
        {
            "label": f"EMG {k}",
            "dimension": "mV",
            "sample_frequency": fs,
            "physical_max": 1.0,
            "physical_min": -1.0,
            "digital_max": 8388607 if suffix == ".bdf" else 32767,
            "digital_min": -8388608 if suffix == ".bdf" else -32768,
            "transducer": "",
            "prefilter": "",
        }
        for k in (1, 2)
    ]
    w.setSignalHeaders(headers)
    if "PLUS" in filetype_name:
        w.writeAnnotation(1.5, -1, "cue contract")
    w.writeSamples(list(x_mv))
    w.close()
    rec = read_recording(path)
    assert rec.fs_hz == fs and rec.channel_names == ["EMG 1", "EMG 2"]
    step_uv = 2000.0 / (2 ** (24 if suffix == ".bdf" else 16) - 1) * 1000.0
    np.testing.assert_allclose(rec.data_uv, x_mv * 1000.0, atol=step_uv)
    assert rec.source_format == suffix[1:] + ("+" if "PLUS" in filetype_name else "")
    if "PLUS" in filetype_name:
        assert [(e.label, e.sample) for e in rec.events] == [("cue contract", 750)]


@pytest.mark.filterwarnings("ignore:phys_m:UserWarning")  # pyedflib notes its own rounding of the header
def test_truncated_edf_is_a_clear_error(tmp_path: Path) -> None:
    import pyedflib

    path = tmp_path / "cut.edf"
    pyedflib.highlevel.write_edf_quick(str(path), np.round(np.random.default_rng(3).normal(0, 10, (1, 1000)), 1), 250)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(RecordingError, match="EDF/BDF"):
        read_recording(path)


# --------------------------------------------------------------------------- plain CSV


def test_csv_header_time_column(tmp_path: Path) -> None:
    t = np.arange(1000) / 500.0
    data = np.column_stack([t, np.sin(t), np.cos(t)])
    p = tmp_path / "x.csv"
    np.savetxt(p, data, delimiter=",", header="time,biceps,triceps", comments="", fmt="%.6f")
    rec = read_recording(p)
    assert rec.fs_hz == 500.0 and rec.channel_names == ["biceps", "triceps"]
    np.testing.assert_allclose(rec.data_uv[1], np.cos(t), atol=1e-6)


def test_csv_channels_only_needs_fs(tmp_path: Path) -> None:
    p = tmp_path / "y.csv"
    np.savetxt(p, np.random.default_rng(2).normal(size=(600, 2)), delimiter=",", fmt="%.5f")
    with pytest.raises(RecordingError, match="--fs"):
        read_recording(p)
    rec = read_recording(p, fs_hz=1000)
    assert rec.fs_hz == 1000.0 and rec.data_uv.shape == (2, 600)


def test_csv_fs_contradicting_time_column(tmp_path: Path) -> None:
    p = tmp_path / "z.csv"
    t = np.arange(400) / 250.0
    np.savetxt(p, np.column_stack([t, t]), delimiter=",", header="time,a", comments="", fmt="%.6f")
    with pytest.raises(RecordingError, match="disagrees"):
        read_recording(p, fs_hz=1000)


def test_csv_nan_values_are_kept_for_analysis(tmp_path: Path) -> None:
    p = tmp_path / "n.csv"
    p.write_text("time,a\n" + "\n".join(f"{k / 250:.4f},{'nan' if k == 5 else k}" for k in range(600)))
    rec = read_recording(p)
    assert np.isnan(rec.data_uv[0, 5]) and np.isfinite(rec.data_uv[0, 6])


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "empty"),
        (bytes(range(256)) * 20, "binary"),
        (b"hello,world\nfoo,bar\nbaz,qux\n", "cannot parse"),
        (b"%OpenBCI Raw EXG Data\n%Number of channels = 8\n", "Sample Rate"),
        (b"time,a\n", "no data rows|empty"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, content: bytes, match: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(RecordingError, match=match) as err:
        read_recording(p)
    assert "\n" not in str(err.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="not found"):
        read_recording(tmp_path / "nope.csv")
    with pytest.raises(RecordingError, match="folder"):
        read_recording(tmp_path)


def test_openbci_truncated_last_line(tmp_path: Path) -> None:
    head = "%OpenBCI Raw EEG Data\n%Sample Rate = 200.0 Hz\n"
    rows = "".join(f"{k % 201}, {k}.0, 1.0, 0.00, 0.00, 0.000, 0.000, 0.000, 11:04:32.853\n" for k in range(400))
    p = tmp_path / "OpenBCI-RAW-cut.txt"
    p.write_text(head + rows + "400, 12.5, 3")
    rec = read_recording(p)
    assert rec.data_uv.shape == (4, 400) and rec.data_uv[0, -1] == 399.0
