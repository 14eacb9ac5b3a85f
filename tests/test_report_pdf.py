"""`emg report` on a real demo session: the PDF's first page is the summary, its figures are the analysis JSON's,
the HTML says the same, the calibration and unused channels are kept out, a drill-less simulation reads sensibly."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pdfium = pytest.importorskip("pypdfium2")

from emg.analysis import AnalysisSettings, analyze_file  # noqa: E402
from emg.analysis.report import write_report  # noqa: E402
from emg.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def demo_csv(headless_demo) -> Path:
    """The shared real demo session (virtual Cyton, simulated patient, calibration then 3 reps)."""
    code, printed, out = headless_demo
    assert code == 0, printed
    return out / "demo.csv"


def _pdf_pages_text(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def _squash(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def test_pdf_first_page_is_the_summary_with_the_analysis_figures(demo_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.pdf"
    assert main(["report", str(demo_csv), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    pages = _pdf_pages_text(out)
    assert len(pages) >= 3
    first = _squash(pages[0])
    assert "EMG biofeedback session report" in first and "In short" in first
    a = analyze_file(demo_csv)
    clin = a["clinical"]
    d = a["drill"]
    assert f"{d['reps_succeeded']} of {d['reps_attempted']} succeeded" in first
    assert f"{clin['time_in_band']['pct']:.0f} % of the work time" in first
    vm = next(m for m in clin["muscles"] if m["trained"])
    assert vm["channel"] == "ch1" and vm["muscle"] == "vastus_medialis"
    assert f"vastus medialis (ch1) trained {vm['peak_pct']:.1f} {vm['mean_pct']:.1f}" in first
    assert "First session" in first and "Demo reach and hold" in first
    assert "20–50 % of reference" in first
    # the calibration's maximal contractions are not in the drill's figures: the drill peak stays near the band
    assert vm["peak_pct"] < 70.0
    cal = clin["calibration"]
    assert cal["kind"] == "mvc" and cal["contractions"].get("ch1") == 1
    # the technical detail is last
    assert "Appendix" in pages[-1] or "Appendix" in pages[-2]
    assert "Appendix" not in first and str(demo_csv) not in first


def test_analysis_keeps_calibration_and_unused_channels_out(demo_csv: Path) -> None:
    a = analyze_file(demo_csv)
    assert a["settings"]["channels"] == ["ch1", "ch2"] and a["settings"]["channels_source"] == "session"
    cal_end = a["clinical"]["periods"]["calibration_s"][1]
    for ch in a["channels"]:
        assert all(act["onset_s"] >= cal_end for act in ch["activations"])
        assert all(act["onset_s"] < cal_end for act in ch["calibration_activations"])
    # co-contraction over the drill's work phases only: the antagonist barely works there
    cc = a["cocontraction"]
    assert cc and cc[0]["over"] == "drill work phases" and cc[0]["index_pct"] < 30
    # no fatigue figure on 3 s reps
    assert a["clinical"]["fatigue"][0]["measured"] is False
    # per-rep clinical table: work above rest, first onset against its own work average
    reps = a["clinical"]["reps"]
    assert len(reps) == a["drill"]["reps_attempted"] >= 2 and reps[0]["offline"]["onset_reference"].startswith("own")
    rested = [r["offline"] for r in reps if r["offline"]["rest_avg"] is not None]  # the last rest is < 1 s
    assert len(rested) >= 1 and all(o["work_avg"] > 5 * max(o["rest_avg"], 0.5) for o in rested)
    every = analyze_file(demo_csv, AnalysisSettings(all_channels=True))
    assert len(every["channels"]) == 8


def test_html_has_the_same_figures_and_only_used_channels(demo_csv: Path, tmp_path: Path) -> None:
    html = write_report(demo_csv, tmp_path / "r.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*['\"](?!data:)", html)
    a = analyze_file(demo_csv)
    vm = next(m for m in a["clinical"]["muscles"] if m["trained"])
    assert f"<td>{vm['peak_pct']:.1f}</td>" in html and f"<td>{vm['mean_pct']:.1f}</td>" in html
    assert f"{a['clinical']['time_in_band']['pct']:.0f} % of the work time" in html
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)  # base64 can spell anything
    assert "ch3" not in text and "vastus_medialis / vastus_medialis" not in text
    assert html.index("id='summary'") < html.index("id='charts'") < html.index("id='tables'")
    assert html.index("id='tables'") < html.index("id='appendix'")
    assert "%/s" not in html  # no fatigue slope per second on short reps


def test_previous_session_of_the_same_patient_is_compared(demo_csv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    for stem, start in (("a", "2026-01-01T10:00:00+00:00"), ("b", "2026-01-08T10:00:00+00:00")):
        shutil.copy(demo_csv, folder / f"{stem}.csv")
        meta = json.loads(demo_csv.with_suffix(".json").read_text())
        meta.update({"start_time": start, "data_file": f"{stem}.csv", "patient": "P7", "notes": "knee warm"})
        (folder / f"{stem}.json").write_text(json.dumps(meta))
    out = write_report(folder / "b.csv", tmp_path / "b.html").read_text()
    assert "Previous session: 1 January 2026" in out and "First session" not in out
    assert "P7" in out and "knee warm" in out
    first = write_report(folder / "a.csv", tmp_path / "a.html").read_text()
    assert "First session" in first


def test_simulated_recording_without_a_drill(tmp_path: Path) -> None:
    sim = tmp_path / "sim.csv"
    assert main(["simulate", "--duration", "12", "--out", str(sim), "--seed", "1"]) == 0
    out = tmp_path / "sim.pdf"
    assert main(["report", str(sim), "-o", str(out)]) == 0
    first = _squash(_pdf_pages_text(out)[0])
    assert "EMG biofeedback session report" in first
    assert "without a drill" in first or "Drill" in first
    html = write_report(sim, tmp_path / "sim.html").read_text()
    assert "Appendix: technical detail" in html
