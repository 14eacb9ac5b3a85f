"""The report as one self-contained HTML page (charts inline as base64 PNG, print CSS for A4)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from emg.analysis.report_summary import SummaryPage
from emg.analysis.report_tables import Table

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:1.5em auto;max-width:1050px;color:#222;
line-height:1.4}
h1{font-size:1.5em;margin:.1em 0 .4em} h2{border-bottom:2px solid #0072B2;padding-bottom:.15em;margin-top:1.4em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top} th{background:#eef3f8}
table.kv th{width:12em} .note{font-size:.85em;color:#444} ul.interp li{margin:.2em 0}
img{max-width:100%;height:auto;display:block;margin:.4em 0} .warn{color:#b00020;font-weight:600}
@page{size:A4;margin:14mm} @media print{body{margin:0;max-width:none;font-size:10pt}
section{break-before:page} section#summary{break-before:auto} table,img{break-inside:avoid}}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def table_html(t: Table) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in t.headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in t.rows)
    notes = "".join(f"<p class='note'>{_e(n)}</p>" for n in t.notes)
    return f"<div id='t-{_e(t.id)}'><h3>{_e(t.title)}</h3><table><tr>{head}</tr>{body}</table>{notes}</div>"


def png_b64(fig: Any, dpi: int = 110) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def render_html(page: SummaryPage, charts: list[tuple[str, Any]], tables: list[Table], appendix: list[Table]) -> str:
    kv = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in page.rows)
    muscles = Table("muscles", page.muscle_title, page.muscle_headers, page.muscle_rows)
    prev = ""
    if page.previous:
        prev = table_html(
            Table(
                "previous",
                "Change since the previous session",
                ["Figure", "Then", "Now"],
                [list(r) for r in page.previous],
            )
        )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(page.title)}</title><style>{CSS}</style></head><body>",
        f"<section id='summary'><h1>{_e(page.title)}</h1>",
        "".join(f"<p class='warn'>{_e(w)}</p>" for w in page.warnings),
        f"<table class='kv'>{kv}</table>",
        table_html(muscles),
        f"<p>{_e(page.previous_line)}</p>{prev}",
        "<h3>In short</h3><ul class='interp'>" + "".join(f"<li>{_e(x)}</li>" for x in page.interpretation) + "</ul>",
        "<h3>Therapist notes</h3>" + "".join(f"<p>{_e(n)}</p>" for n in page.notes),
        f"<p class='note'>{_e(page.calibration)}</p></section>",
    ]
    if charts:
        parts.append("<section id='charts'><h2>Trials</h2>")
        for alt, fig in charts:
            parts.append(f"<img alt='{_e(alt)}' src='data:image/png;base64,{png_b64(fig)}'>")
        parts.append(
            "<p class='note'>Green: work phases; grey: rest; green band: the target; ✓/✗: rep result. "
            "Hatched: the calibration, kept out of every figure.</p></section>"
        )
    if tables:
        parts.append("<section id='tables'><h2>Tables</h2>" + "".join(table_html(t) for t in tables) + "</section>")
    parts.append(
        "<section id='appendix'><h2>Appendix: technical detail</h2>"
        + "".join(table_html(t) for t in appendix)
        + "</section>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
