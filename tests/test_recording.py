"""load_recording: the project's format read back, and every broken file named in one line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from emg.errors import RecordingError
from emg.recordings.recording import Recording, load_recording, read_sidecar
from emg.recordings.writer import RecordingWriter

CYTON_META = {
    "board_id": 0,
    "board_name": "cyton",
    "sampling_rate": 250.0,
    "num_rows": 24,
    "exg_rows": list(range(1, 9)),
    "accel_rows": [9, 10, 11],
    "timestamp_row": 22,
    "marker_row": 23,
    "package_num_row": 0,
    "channel_names": [f"ch{i}" for i in range(1, 9)],
    "muscles": ["VM"] + [""] * 7,
    "gains": [24] * 8,
}


def make_rows(n: int = 750, fs: float = 250.0, t0: float = 1.7e9) -> np.ndarray:
    rng = np.random.default_rng(3)
    rows = np.zeros((24, n))
    rows[0] = np.arange(n) % 256
    rows[1:9] = np.round(rng.normal(0, 50, (8, n)), 6)
    rows[9:12] = [[0.0], [0.0], [1.0]]
    rows[22] = t0 + np.arange(n) / fs
    return rows


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.csv"
    rows = make_rows()
    with RecordingWriter(path, dict(CYTON_META)) as w:
        w.write(rows[:, :300])
        w.add_event("contract", 300, 1.2, {"target_pct": [40, 60]})
        w.write(rows[:, 300:])
    return path, rows


def test_round_trip_of_rows_events_and_labels(good):
    path, rows = good
    rec = load_recording(path)
    assert isinstance(rec, Recording)
    assert rec.n_samples == 750 and rec.n_channels == 8 and rec.fs_hz == 250.0
    np.testing.assert_allclose(rec.rows, rows, atol=5e-7, rtol=0)
    np.testing.assert_allclose(rec.data_uv, rows[1:9], atol=5e-7, rtol=0)
    np.testing.assert_allclose(rec.timestamps, rows[22], atol=5e-7, rtol=0)
    assert rec.accel.shape == (3, 750) and rec.package_num[5] == 5
    assert rec.events[0].label == "contract" and rec.events[0].sample == 300
    assert rec.events[0].data == {"target_pct": [40, 60]}
    assert rec.muscles[0] == "VM" and rec.meta["gains"] == [24] * 8
    assert load_recording(path.with_suffix(".json")).n_samples == 750
    assert load_recording(path.with_suffix("")).n_samples == 750


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and len(msg) < 300
    return msg


def test_missing_file(tmp_path):
    with pytest.raises(RecordingError) as err:
        load_recording(tmp_path / "nope.csv")
    assert "not found" in _one_line(err)


def test_missing_data_file_with_sidecar(good):
    path, _ = good
    path.unlink()
    with pytest.raises(RecordingError) as err:
        load_recording(path)
    assert "data file" in _one_line(err) and "missing" in str(err.value)


def test_empty_file(good):
    path, _ = good
    path.write_bytes(b"")
    with pytest.raises(RecordingError) as err:
        load_recording(path)
    assert "empty" in _one_line(err)


def test_truncated_file_is_refused_unless_allowed(good):
    path, _ = good
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(RecordingError) as err:
        load_recording(path)
    assert "truncated" in _one_line(err)
    rec = load_recording(path, allow_truncated=True)
    assert 300 < rec.n_samples < 450 and rec.meta["truncated"] is True


def test_killed_recording_reads_up_to_last_whole_line(good):
    path, rows = good
    side = json.loads(path.with_suffix(".json").read_text())
    side["complete"] = False
    path.with_suffix(".json").write_text(json.dumps(side))
    raw = path.read_bytes()
    path.write_bytes(raw[:-7])  # killed mid-line
    rec = load_recording(path)
    assert rec.n_samples == 749 and rec.meta["interrupted"] is True


def test_foreign_file(good, tmp_path):
    path, _ = good
    path.write_text("%OpenBCI Raw EXG Data\n%Sample Rate = 250 Hz\nSample Index, EXG Channel 0\n0, 1.0\n")
    with pytest.raises(RecordingError) as err:
        load_recording(path)
    assert "BrainFlow data file" in _one_line(err) or "does not belong" in str(err.value)


def test_binary_file(good):
    path, _ = good
    path.write_bytes(bytes(range(256)) * 4 + b"\n")
    with pytest.raises(RecordingError) as err:
        load_recording(path)
    _one_line(err)


def test_no_sidecar(good):
    path, _ = good
    path.with_suffix(".json").unlink()
    with pytest.raises(RecordingError) as err:
        load_recording(path)
    assert "no sidecar" in _one_line(err)


def test_sidecar_of_another_board(good):
    path, _ = good
    side = json.loads(path.with_suffix(".json").read_text())
    side["num_rows"] = 32
    path.with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(RecordingError) as err:
        load_recording(path)
    assert "does not belong" in _one_line(err)


def test_sidecar_with_wrong_rate(good):
    path, _ = good
    side = json.loads(path.with_suffix(".json").read_text())
    side["sampling_rate"] = 1000.0
    path.with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(RecordingError) as err:
        load_recording(path)
    assert "about 250 Hz" in _one_line(err) and "1000" in str(err.value)


def test_sidecar_sample_count_from_another_file(good, tmp_path):
    path, _ = good
    other = tmp_path / "other.csv"
    shutil.copy(path.with_suffix(".json"), other.with_suffix(".json"))
    other.write_bytes(path.read_bytes() + path.read_bytes())
    with pytest.raises(RecordingError) as err:
        load_recording(other)
    assert "does not belong" in _one_line(err)


def test_corrupt_sidecar(good):
    path, _ = good
    path.with_suffix(".json").write_text('{"format_version": 1, "board_id": ')
    with pytest.raises(RecordingError) as err:
        read_sidecar(path)
    assert "not valid JSON" in _one_line(err)
    path.with_suffix(".json").write_text('{"hello": 1}')
    with pytest.raises(RecordingError) as err:
        load_recording(path)
    assert "lacks" in _one_line(err)


def test_nan_and_railed_values_load_as_they_were(tmp_path):
    path = tmp_path / "nan.csv"
    rows = make_rows(300)
    rows[1, 10] = np.nan
    rows[2, 20:40] = 187500.0
    with RecordingWriter(path, dict(CYTON_META)) as w:
        w.write(rows)
    rec = load_recording(path)
    assert np.isnan(rec.data_uv[0, 10]) and np.all(rec.data_uv[1, 20:40] == 187500.0)


def test_shipped_sample_recording_loads():
    from pathlib import Path

    from brainflow.data_filter import DataFilter

    sample = Path(__file__).resolve().parents[1] / "recordings" / "samples" / "cyton-virtual-patient-20s.csv"
    rec = load_recording(sample)
    assert rec.n_samples == 5000 and rec.fs_hz == 250.0 and rec.n_channels == 8
    assert rec.meta["board_name"] == "cyton" and rec.meta["complete"] and rec.meta["dropped_packets"] == 0
    assert rec.muscles[:2] == ["vastus medialis", "biceps femoris"]
    assert DataFilter.read_file(str(sample)).shape == (24, 5000)
    x = rec.data_uv[0] - rec.data_uv[0].mean()
    per_s = np.sqrt((x.reshape(20, 250) ** 2).mean(axis=1))
    assert per_s.min() < 10 and per_s.max() > 50  # rest and contractions both present
