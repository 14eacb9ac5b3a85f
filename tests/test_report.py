"""emg.analysis.report and `emg report` on generated drill recordings: summary first, self-contained, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from analysis_gen import write_drill_session

from emg.analysis import AnalysisSettings
from emg.analysis.report import write_report
from emg.cli import main


@pytest.fixture(scope="module")
def drill_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    return write_drill_session(
        root / "drill",
        snr=6.0,
        successes=[True, False, True],
        relax_s=0.5,
        start_time="2026-02-01T09:30:00+00:00",
        seed=3,
    )


def test_report_order_and_self_contained(drill_recording: Path, tmp_path: Path) -> None:
    html = write_report(drill_recording, tmp_path / "r.html").read_text(encoding="utf-8")
    for sec in ("summary", "charts", "tables", "appendix"):
        assert f"<section id='{sec}'>" in html
    assert not re.search(r"(src|href)\s*=\s*['\"](?!data:)", html)
    assert "http://" not in html and "https://" not in html
    assert "2 of 3 succeeded" in html and "1 February 2026, 09:30" in html and "P01" in html
    assert "zero-phase" in html and "band-pass 20-100 Hz" in html
    assert html.index("2 of 3 succeeded") < html.index("band-pass 20-100 Hz")  # technical detail last


def test_report_command_writes_pdf_and_refuses_to_replace(drill_recording: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "c.pdf"
    assert main(["report", str(drill_recording), "-o", str(out), "--causal", "--mains", "60"]) == 0
    assert out.read_bytes()[:5] == b"%PDF-" and f"report written to {out}" in capsys.readouterr().out
    assert main(["report", str(drill_recording), "-o", str(out)]) == 2
    assert main(["report", str(drill_recording), "-o", str(out), "--force"]) == 0


def test_report_of_flat_channels_says_why(tmp_path: Path) -> None:
    p = tmp_path / "flat.csv"
    t = np.arange(3000) / 1000.0
    x = np.random.default_rng(0).normal(0, 5, t.size)
    np.savetxt(p, np.column_stack([t, x, np.zeros_like(t)]), delimiter=",", header="time,a,b", comments="")
    html = write_report(p, tmp_path / "f.html", AnalysisSettings()).read_text()
    assert "flat channel (all samples 0)" in html


def test_report_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "junk.bin"
    bad.write_bytes(bytes(range(256)) * 10)
    assert main(["report", str(bad), "-o", str(tmp_path / "x.html")]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "binary" in err
    assert not (tmp_path / "x.html").exists()
    assert main(["report", str(bad), "-o", str(tmp_path / "no" / "x.html")]) == 2
