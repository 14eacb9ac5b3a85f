"""emg.analysis.report and `emg report`: one self-contained HTML file with every section, figures as real PNGs."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from analysis_gen import write_drill_session

from emg.analysis import AnalysisSettings
from emg.analysis.report import write_report
from emg.cli import main

SECTIONS = ("summary", "settings", "quality", "signals", "activations", "reps", "fatigue", "cross")


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
        fatigue_hz_per_s=-3.0,
    )


def _pngs(html: str) -> list[np.ndarray]:
    from matplotlib.image import imread

    return [
        imread(io.BytesIO(base64.b64decode(b64)), format="png")
        for b64 in re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    ]


def test_report_has_every_section_and_is_self_contained(drill_recording: Path, tmp_path: Path) -> None:
    out = write_report(drill_recording, tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    for sec in SECTIONS:
        assert f"<section id='{sec}'>" in html
    # nothing is fetched from anywhere: no external scripts, styles, images or links
    assert not re.search(r"(src|href)\s*=\s*['\"](?!data:)", html)
    assert "http://" not in html and "https://" not in html
    # settings used, quality and the per-rep table are there with their numbers
    assert "zero-phase" in html and "band-pass 20-100 Hz" in html and "recording sidecar" in html
    assert "2 of 3 reps succeeded" in html
    assert html.count("ok'>success</td>") == 2 and html.count("bad'>failure</td>") == 1
    imgs = _pngs(html)
    assert len(imgs) == 2  # one signal figure (one channel) and the fatigue plot
    assert all(img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 600 for img in imgs)


def test_signal_figure_shades_the_activations(drill_recording: Path, tmp_path: Path) -> None:
    html = write_report(drill_recording, tmp_path / "r.html").read_text()
    sig = _pngs(html)[0][..., :3]
    # activation shading is Okabe-Ito orange (#E69F00) at alpha 0.3 over white: about (0.97, 0.89, 0.70)
    orange = (
        (np.abs(sig[..., 0] - 0.97) < 0.04) & (np.abs(sig[..., 1] - 0.89) < 0.04) & (np.abs(sig[..., 2] - 0.70) < 0.05)
    )
    cols = np.flatnonzero(orange.any(axis=0))
    assert cols.size > 30
    # three separate shaded spans (three reps): count runs of shaded columns
    runs = 1 + int(np.sum(np.diff(cols) > 3))
    assert runs == 3 * 1 or runs == 3 * 2  # three spans, in the raw and envelope axes (same columns)


def test_report_command_and_causal_setting(
    drill_recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "c.html"
    assert main(["report", str(drill_recording), "-o", str(out), "--causal", "--mains", "60"]) == 0
    assert f"report written to {out}" in capsys.readouterr().out
    html = out.read_text()
    assert "causal (what the patient saw live)" in html and "60.0 Hz (option)" in html


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
