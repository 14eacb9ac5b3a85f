"""The session report: HTML (self-contained, print CSS) or print-ready A4 PDF, the same content in both.

``write_report(path, out, settings, force=...)`` reads and analyses a recording and writes ``out`` (``.pdf``:
PDF, anything else: HTML); ``render_report(analysis)`` returns the HTML. Order: page one is the session
summary (:mod:`~emg.analysis.report_summary`, with the previous session of the same patient from the same
folder, :mod:`~emg.analysis.report_previous`), then the trial charts (:mod:`~emg.analysis.report_charts`), the
clinical tables and the technical appendix (:mod:`~emg.analysis.report_tables`). Writers:
:mod:`~emg.analysis.report_html`, :mod:`~emg.analysis.report_pdf`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from emg.analysis.analyze import Analysis, AnalysisSettings, analyze_recording

log = logging.getLogger(__name__)


def _parts(res: Analysis, previous: dict[str, Any] | None, chart_width_in: float) -> tuple[Any, Any, Any, Any]:
    from emg.analysis.report_charts import trial_figure
    from emg.analysis.report_summary import summary_page
    from emg.analysis.report_tables import appendix_tables, clinical_tables

    s = res.summary
    fig = trial_figure(res, width_in=chart_width_in) if s.get("channels") and res.envelope_uv is not None else None
    charts = [("trial chart: envelope, target band, work and rest phases, rep results", fig)] if fig is not None else []
    return summary_page(s, previous), charts, clinical_tables(s), appendix_tables(s)


def render_report(res: Analysis, previous: dict[str, Any] | None = None) -> str:
    """The whole report as one HTML string (``previous``: the previous session's analysis JSON, or None)."""
    from emg.analysis.report_html import render_html

    return render_html(*_parts(res, previous, 10.5))


def render_pdf_report(res: Analysis, previous: dict[str, Any] | None = None) -> bytes:
    """The whole report as A4 PDF bytes."""
    from emg.analysis.report_pdf import render_pdf

    return render_pdf(*_parts(res, previous, 7.6))


def write_report(
    path: str | Path,
    out: str | Path,
    settings: AnalysisSettings | None = None,
    *,
    progress: bool = False,
    force: bool = False,
) -> Path:
    """Read ``path``, analyse it and write the report to ``out`` (PDF when it ends in ``.pdf``, else HTML).

    ConfigError before any work when ``out`` is a folder, is in a missing folder, is the input, is a
    recording/calibration/summary, or exists (unless ``force``)."""
    from emg.analysis.report_previous import previous_summary
    from emg.recordings.outputs import check_output, write_output
    from emg.recordings.readers import read_recording

    target = check_output(out, force=force, inputs=[path])
    s = settings or AnalysisSettings()
    s.keep_signals = True
    rec = read_recording(path, s.fs_hz, units=s.units)
    res = analyze_recording(rec, s, progress=progress)
    prev = previous_summary(path, res.summary, s)
    if str(target).lower().endswith(".pdf"):
        return write_output(target, render_pdf_report(res, prev))
    return write_output(target, render_report(res, prev))
