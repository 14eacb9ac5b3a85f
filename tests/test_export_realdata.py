"""Export real public recordings (../shared/realdata, read in place) and read them back with pyedflib."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emg.export import export_bids, load_for_export, write_edf
from emg.export.bids import validate_bids_emg
from emg.export.edf import read_back

pytestmark = pytest.mark.realdata


def test_openbci_v6_cyton_file_to_bdf_and_edf(realdata: Path, tmp_path: Path) -> None:
    src = realdata / "openbci_cyton_jawclench" / "OpenBCI_GUI-v6-blinks-jawClench-alpha.txt"
    rec = load_for_export(src)
    assert rec.fs_hz == pytest.approx(250.0) and rec.data_uv.shape == (8, 22490)
    for fmt in ("bdf", "edf"):
        res = write_edf(rec, tmp_path / f"jaw.{fmt}", fmt=fmt)
        data, fs, labels, _, _ = read_back(tmp_path / f"jaw.{fmt}")
        assert fs == 250.0 and data.shape == (8, 22490) and res.padded_samples == 0  # 22490 = 10 x 2249
        assert np.all(np.abs(data - rec.data_uv).max(axis=1) <= np.array(res.quantum_uv) / 2 + 1e-9)
    assert max(res.quantum_uv) < 2.0  # EDF+ on mains-dominated scalp channels (BDF+ is 256x finer)
    import pyedflib

    r = pyedflib.EdfReader(str(tmp_path / "jaw.bdf"))
    assert r.getEquipment() == "OpenBCI Cyton" and "65.5Hz" in r.getPrefilter(0)
    r.close()


def test_ganglion_myoware_file_into_bids(realdata: Path, tmp_path: Path) -> None:
    src = realdata / "openbci_ganglion_myoware_s05" / "OpenBCI-RAW-S05_S1R0.txt"
    rec = load_for_export(src)
    rec.muscles = ["biceps brachii R", "triceps brachii R", "", ""]
    res = export_bids(rec, tmp_path / "ds", subject="S05", session="1", task="movement", power_line_hz=60)
    assert validate_bids_emg(tmp_path / "ds") == []
    side = json.loads(res.data_file.with_name("sub-S05_ses-1_task-movement_emg.json").read_text())
    assert side["SamplingFrequency"] == 200.0 and side["ManufacturersModelName"] == "Ganglion (MCP3912)"
    assert side["HardwareFilters"] == "n/a"  # not known for the Ganglion: said, not invented
    data, fs, labels, _, _ = read_back(res.data_file)
    assert fs == 200.0 and data.shape == rec.data_uv.shape
    assert labels[:2] == ["biceps brachii R", "TricepsBrachiiR"]
    assert np.all(np.abs(data - rec.data_uv).max(axis=1) <= np.array(res.edf.quantum_uv) / 2 + 1e-9)
