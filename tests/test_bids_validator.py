"""The official BIDS validator (bids-validator-deno, schema with BIDS-EMG) on an exported dataset.

Skipped, with the reason, where the validator is not installed (`pip install bids-validator-deno`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_export_edf import make_recording

from emg.export import export_bids, load_for_export


def validator() -> str:
    exe = (
        os.environ.get("EMG_BIDS_VALIDATOR")
        or shutil.which("bids-validator-deno")
        or str(Path(sys.executable).parent / "bids-validator-deno")
    )
    if not Path(exe).exists():
        pytest.skip("bids-validator-deno is not installed (pip install bids-validator-deno)")
    return exe


def test_official_validator_finds_no_error(tmp_path: Path) -> None:
    exe = validator()
    make_recording(tmp_path / "s.csv")
    rec = load_for_export(tmp_path / "s.csv")
    root = tmp_path / "study"
    export_bids(rec, root, subject="P01", session="1", task="reachhold", power_line_hz=50, authors=["A", "B"])
    export_bids(rec, root, subject="P01", session="2", task="reachhold", include_accel=True)
    export_bids(rec, root, subject="P02", session="1", task="reachhold", run=2)
    res = subprocess.run([exe, str(root), "--json"], capture_output=True, text=True, timeout=120)
    report = json.loads(res.stdout)
    errors = [
        (i["code"], i.get("location"), i.get("subCode")) for i in report["issues"]["issues"] if i["severity"] == "error"
    ]
    assert errors == []
    assert report["summary"]["modalities"] == ["emg"] and sorted(report["summary"]["subjects"]) == ["P01", "P02"]
    assert sorted(report["summary"]["sessions"]) == ["1", "2"]
    warnings = {i["code"] for i in report["issues"]["issues"] if i["severity"] == "warning"}
    # what is left are fields only the lab can give (institution, electrode maker, serial number...)
    assert warnings <= {"SIDECAR_KEY_RECOMMENDED", "JSON_KEY_RECOMMENDED", "TOO_FEW_AUTHORS"}
