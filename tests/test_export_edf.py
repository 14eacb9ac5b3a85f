"""EDF+/BDF+ export: real files written by the project's RecordingWriter, read back with pyedflib."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyedflib
import pytest

from emg.cli import main
from emg.errors import ConfigError, RecordingError
from emg.export import load_for_export, write_edf
from emg.export.edf import END_LABEL, read_back, record_layout
from emg.recordings.writer import RecordingWriter

FS = 250.0
MUSCLES = ["vastus medialis L", "vastus medialis R", "rectus femoris (left)", "", "", "", "", ""]
EVENTS = [  # label, sample, data
    ("drill_start", 0, {"kind": "reach_hold", "name": "quads"}),
    ("cue", 2990, {"phase": "contract", "band_pct": [40, 60], "text": "CONTRACT"}),
    ("rep_start", 3000, {"set": 1, "rep": 1}),
    ("rep_end", 4000, {"set": 1, "rep": 1, "result": "success", "time_in_band_s": 3.1}),
    ("a rather long label that EDF+ must cut at forty chars", 5000, {}),
]


def make_recording(
    path: Path, n: int = 7503, fs: float = FS, seed: int = 1, events=EVENTS, n_ch: int = 8
) -> np.ndarray:
    """A Cyton-layout recording (24 rows) via the project's writer; returns the EMG rows (uV)."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((24, n))
    rows[0] = np.arange(n) % 256
    emg = np.round(rng.normal(0, 40, (8, n)), 6)
    emg[0, n // 3 : n // 2] += np.round(rng.normal(0, 600, n // 2 - n // 3), 6)  # a burst
    emg[7] = np.round(187500.0 * np.sign(np.sin(np.arange(n) / 50)), 6)  # railed channel
    rows[1:9] = emg
    rows[22] = 1.7e9 + np.arange(n) / fs
    meta = dict(
        board_id=0,
        board_name="cyton",
        sampling_rate=fs,
        num_rows=24,
        exg_rows=list(range(1, 9)),
        accel_rows=[9, 10, 11],
        timestamp_row=22,
        marker_row=23,
        package_num_row=0,
        channel_names=[f"ch{i + 1}" for i in range(n_ch)],
        muscles=MUSCLES[:n_ch],
        gains=[24] * 8,
        filters="band-pass 20-100 Hz (Butterworth 4), notches 50 Hz",
    )
    with RecordingWriter(path, meta, fsync=False) as w:
        w.write(rows)
        for label, sample, data in events:
            w.add_event(label, sample, sample / fs, data)
    return emg


@pytest.fixture()
def rec_path(tmp_path: Path) -> Path:
    p = tmp_path / "session.csv"
    make_recording(p)
    return p


def test_record_layout_prefers_records_the_samples_fill() -> None:
    assert record_layout(7500, 250.0, 8, 3) == (250, 1.0, 0)
    assert record_layout(7503, 250.0, 8, 3) == (183, 0.732, 0)  # 7503 = 3 x 41 x 61
    assert record_layout(7507, 250.0, 8, 3) == (250, 1.0, 243)  # prime: pad the last second
    assert record_layout(22490, 250.0, 8, 3) == (130, 0.52, 0)  # 173/0.692 != 250.0 in floats: skipped
    assert record_layout(30000, 1000.0, 64, 3) == (300, 0.3, 0)  # 61,440-byte record limit
    spr, dur, pad = record_layout(1000, 200.0, 4, 2)
    assert (spr, dur, pad) == (200, 1.0, 0)


def test_bdf_round_trip_data_events_and_header(rec_path: Path, tmp_path: Path) -> None:
    rec = load_for_export(rec_path)
    out = tmp_path / "s.bdf"
    res = write_edf(rec, out, fmt="bdf", subject="P01")
    assert res.file_type == "bdf+" and res.padded_samples == 0 and res.n_samples == 7503
    data, fs, labels, notes, start = read_back(out)
    assert fs == FS and data.shape == (8, 7503)
    err = np.abs(data - rec.data_uv).max(axis=1)
    # rounding, not truncation: at most half a quantisation step per channel (+ float noise)
    assert np.all(err <= np.array(res.quantum_uv) / 2 + 1e-9)
    assert res.quantum_uv[0] < 0.001 and res.quantum_uv[7] < 0.03  # 24 bit, even on the railed channel
    assert labels[:3] == ["VastusMedialisL", "VastusMedialisR", "RectusFemoriLeft"]  # the muscle, within 16
    assert labels[3:] == ["ch4", "ch5", "ch6", "ch7", "ch8"]
    # every event as an annotation, at its exact sample
    assert [(round(on * fs), txt) for on, _, txt in notes] == [(s, lab[:40]) for lab, s, _ in EVENTS]
    r = pyedflib.EdfReader(str(out))
    try:
        assert r.getPhysicalDimension(0) == "uV"
        assert r.getEquipment() == "OpenBCI Cyton"  # EDF+ underscores read back as spaces
        assert "65.5Hz" in r.getPrefilter(0) and "raw" in r.getPrefilter(0)
        assert "vastus medialis L" in r.getTransducer(0) and "gain 24" in r.getTransducer(0)
        assert r.getPatientCode() == "P01"
        assert r.getRecordingAdditional().replace(" ", "_") == "raw;live:BP20-100Hz,N50Hz"
        assert r.filetype == pyedflib.FILETYPE_BDFPLUS
    finally:
        r.close()
    assert start is not None and start.year >= 2023


def test_edf_round_trip_is_within_16_bit_quantisation(rec_path: Path, tmp_path: Path) -> None:
    rec = load_for_export(rec_path)
    rec.data_uv = rec.data_uv[:7]  # without the railed channel: EDF+'s 16 bits spread over +-2.4 mV
    rec.channel_names = rec.channel_names[:7]
    rec.muscles = rec.muscles[:7]
    res = write_edf(rec, tmp_path / "s.edf", fmt="edf")
    data, fs, labels, notes, _ = read_back(tmp_path / "s.edf")
    err = np.abs(data - rec.data_uv).max(axis=1)
    assert np.all(err <= np.array(res.quantum_uv) / 2 + 1e-9)
    assert max(res.quantum_uv) < 0.1
    assert len(notes) == len(EVENTS)
    r = pyedflib.EdfReader(str(tmp_path / "s.edf"))
    assert r.filetype == pyedflib.FILETYPE_EDFPLUS
    r.close()


def test_project_reader_reads_the_export_back(rec_path: Path, tmp_path: Path) -> None:
    """`emg analyze` reads BDF through emg.recordings.readers: same data, rate and events."""
    from emg.recordings.readers import read_recording

    rec = load_for_export(rec_path)
    write_edf(rec, tmp_path / "s.bdf")
    back = read_recording(tmp_path / "s.bdf")
    assert back.fs_hz == FS and back.n_samples == rec.n_samples
    assert [(e.label, e.sample) for e in back.events] == [(lab[:40], s) for lab, s, _ in EVENTS]
    np.testing.assert_allclose(back.data_uv[:7], rec.data_uv[:7], atol=1e-3)


def test_padding_is_declared_and_real_samples_are_exact(tmp_path: Path) -> None:
    make_recording(tmp_path / "p.csv", n=7507, events=[("mark", 7506, {})])
    rec = load_for_export(tmp_path / "p.csv")
    res = write_edf(rec, tmp_path / "p.bdf")
    assert res.padded_samples == 243
    data, fs, _, notes, _ = read_back(tmp_path / "p.bdf")
    assert data.shape[1] == 7507 + 243
    assert np.all(np.abs(data[:, :7507] - rec.data_uv) <= np.array(res.quantum_uv)[:, None] / 2 + 1e-9)
    # the padding repeats the last real sample
    assert np.all(np.abs(data[:, 7507:] - rec.data_uv[:, -1:]) <= np.array(res.quantum_uv)[:, None] / 2 + 1e-9)
    assert [(round(on * fs), t) for on, _, t in notes] == [(7506, "mark"), (7507, END_LABEL)]


def test_events_at_1khz_keep_their_sample(tmp_path: Path) -> None:
    evs = [("cue", 1, {}), ("rep_start", 999, {}), ("rep_end", 12345, {"duration_s": 2.5})]
    make_recording(tmp_path / "k.csv", n=20000, fs=1000.0, events=evs)
    rec = load_for_export(tmp_path / "k.csv")
    write_edf(rec, tmp_path / "k.bdf")
    _, fs, _, notes, _ = read_back(tmp_path / "k.bdf")
    assert fs == 1000.0
    assert [(round(on * fs), d, t) for on, d, t in notes] == [
        (1, -1.0, "cue"),
        (999, -1.0, "rep_start"),
        (12345, 2.5, "rep_end"),
    ]


def test_many_events_get_enough_annotation_slots(tmp_path: Path) -> None:
    evs = [(f"ev{i}", 100 + i, {}) for i in range(120)]  # 120 events in a 4-second file
    make_recording(tmp_path / "m.csv", n=1000, events=evs)
    rec = load_for_export(tmp_path / "m.csv")
    write_edf(rec, tmp_path / "m.bdf")
    _, _, _, notes, _ = read_back(tmp_path / "m.bdf")
    assert [t for _, _, t in notes] == [f"ev{i}" for i in range(120)]


def test_nan_samples_are_written_as_zero_and_annotated(rec_path: Path, tmp_path: Path) -> None:
    rec = load_for_export(rec_path)
    rec.data_uv[2, 100:110] = np.nan
    res = write_edf(rec, tmp_path / "n.bdf")
    assert res.invalid_samples == 10
    data, fs, _, notes, _ = read_back(tmp_path / "n.bdf")
    assert np.all(np.abs(data[2, 100:110]) <= res.quantum_uv[2])
    assert (100, "invalid samples set to 0 (ch3)") in [(round(on * fs), t) for on, _, t in notes]


def test_existing_target_is_refused_and_kept(rec_path: Path, tmp_path: Path) -> None:
    rec = load_for_export(rec_path)
    out = tmp_path / "s.bdf"
    out.write_bytes(b"precious")
    with pytest.raises(ConfigError, match="already exists; pass --force"):
        write_edf(rec, out)
    assert out.read_bytes() == b"precious"
    write_edf(rec, out, force=True)
    assert out.stat().st_size > 100_000
    assert not list(tmp_path.glob(".s.tmp-*"))  # no temporary file left behind


# --------------------------------------------------------------------------- command line


def test_cli_export_bdf(rec_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cli.bdf"
    assert main(["export", str(rec_path), "--to", "bdf", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "BDF+, 8 channels x 7503 samples at 250 Hz" in text and "5 events" in text
    assert pyedflib.EdfReader(str(out)).signals_in_file == 8
    folder = tmp_path / "exports"
    folder.mkdir()
    assert main(["export", str(rec_path), "--to", "edf", "--out", str(folder)]) == 0  # named after the recording
    assert (folder / "session.edf").is_file()


def test_cli_refuses_existing_and_wrong_suffix(rec_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cli.edf"
    out.write_text("keep me")
    assert main(["export", str(rec_path), "--to", "edf", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "already exists; pass --force" in err and err.count("\n") == 1
    assert out.read_text() == "keep me"
    assert main(["export", str(rec_path), "--to", "edf", "--out", str(tmp_path / "x.bdf")]) == 2
    assert "--to edf writes a .edf file" in capsys.readouterr().err
    assert main(["export", str(rec_path), "--to", "edf", "--out", str(out), "--force"]) == 0


def test_cli_recording_without_sidecar_asks_for_rate(
    rec_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bare = tmp_path / "bare.csv"
    bare.write_bytes(rec_path.read_bytes())  # the data file alone, no bare.json
    assert main(["export", str(bare), "--to", "bdf", "--out", str(tmp_path / "b.bdf")]) == 4
    err = capsys.readouterr().err
    assert "no sidecar bare.json" in err and "--fs" in err
    assert not (tmp_path / "b.bdf").exists()
    # 24 columns name the Cyton; with the rate given it exports
    assert (
        main(
            [
                "export",
                str(bare),
                "--to",
                "bdf",
                "--out",
                str(tmp_path / "b.bdf"),
                "--fs",
                "250",
                "--muscles",
                "quad L,quad R,,,,,,",
            ]
        )
        == 0
    )
    data, fs, labels, notes, _ = read_back(tmp_path / "b.bdf")
    assert fs == 250.0 and data.shape == (8, 7503) and labels[0] == "quad L" and notes == []


def test_cli_bare_file_with_ambiguous_layout_needs_board(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bare = tmp_path / "syn.csv"
    np.savetxt(bare, np.zeros((100, 32)), fmt="%.6f", delimiter="\t")  # 32 rows: synthetic or cyton-daisy
    assert main(["export", str(bare), "--to", "bdf", "--out", str(tmp_path / "s.bdf"), "--fs", "125"]) == 4
    err = capsys.readouterr().err
    assert "--board" in err and "synthetic" in err and "cyton-daisy" in err
    assert (
        main(
            [
                "export",
                str(bare),
                "--to",
                "bdf",
                "--out",
                str(tmp_path / "s.bdf"),
                "--fs",
                "125",
                "--board",
                "cyton-daisy",
            ]
        )
        == 0
    )
    assert read_back(tmp_path / "s.bdf")[0].shape == (16, 100)


def test_accelerometer_axes_on_request(rec_path: Path, tmp_path: Path) -> None:
    rec = load_for_export(rec_path)
    rec.accel = np.vstack([np.linspace(-1, 1, rec.n_samples), np.zeros(rec.n_samples), np.ones(rec.n_samples)])
    res = write_edf(rec, tmp_path / "a.bdf", include_accel=True)
    data, _, labels, _, _ = read_back(tmp_path / "a.bdf")
    assert labels[8:] == ["accel X", "accel Y", "accel Z"] and data.shape == (11, rec.n_samples)
    assert np.all(np.abs(data[8:] - rec.accel).max(axis=1) <= np.array(res.quantum_uv[8:]) / 2 + 1e-12)
    r = pyedflib.EdfReader(str(tmp_path / "a.bdf"))
    assert r.getPhysicalDimension(8) == "g" and r.getPhysicalDimension(0) == "uV"
    r.close()
    rec.accel = None
    with pytest.raises(RecordingError, match="no accelerometer data"):
        write_edf(rec, tmp_path / "b.bdf", include_accel=True)


def test_values_beyond_the_header_and_stray_events(rec_path: Path, tmp_path: Path) -> None:
    from emg.recordings.recording import Event

    rec = load_for_export(rec_path)
    rec.events = [Event("before start", -5, -0.02, {}), Event("after end", 10**9, 4e6, {})]
    write_edf(rec, tmp_path / "e.bdf")
    _, fs, _, notes, _ = read_back(tmp_path / "e.bdf")
    assert [(round(on * fs), t) for on, _, t in notes] == [(0, "before start"), (10**9, "after end")]
    rec.data_uv = rec.data_uv * 1000.0  # volts mistaken for microvolts: 1.9e8 "uV"
    with pytest.raises(RecordingError, match="not microvolt data: check the units"):
        write_edf(rec, tmp_path / "v.bdf")
    assert not (tmp_path / "v.bdf").exists()
