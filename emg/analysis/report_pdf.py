"""The report as a print-ready A4 PDF, drawn with matplotlib's PDF backend (already a dependency: text,
tables and vector charts on pages, fonts embedded as TrueType so the text can be searched and copied).

Page one is the session summary; then the trial charts, the clinical tables and the technical appendix.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

from emg.analysis.report_summary import SummaryPage
from emg.analysis.report_tables import Table

A4_IN = (8.27, 11.69)
MARGIN = 0.07  # figure fraction, left/right
TOP = 0.95
BOTTOM = 0.05
LINE = 0.0155  # one 9 pt line, figure fraction of the A4 height


class _Pages:
    """A cursor that writes text and tables down A4 pages, starting a new page when one is full."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        self.fig: Any = None
        self.y = TOP
        self.new_page()

    def new_page(self) -> None:
        from matplotlib.figure import Figure

        if self.fig is not None and self.y < TOP:
            self.pdf.savefig(self.fig)
        self.fig = Figure(figsize=A4_IN)
        self.y = TOP

    def need(self, h: float) -> None:
        if self.y - h < BOTTOM and self.y < TOP:
            self.new_page()

    def text(self, s: str, size: float = 9, bold: bool = False, width: int = 110, colour: str = "#222222") -> None:
        lines = textwrap.wrap(s, width=int(width * 9 / size)) or [""]
        h = LINE * size / 9 * 1.25
        for ln in lines:
            self.need(h)
            self.fig.text(
                MARGIN, self.y, ln, fontsize=size, fontweight="bold" if bold else "normal", va="top", color=colour
            )
            self.y -= h

    def gap(self, lines: float = 0.6) -> None:
        self.y -= LINE * lines

    def table(self, headers: list[str], rows: list[list[str]], size: float = 7.5, wrap: int = 28) -> None:
        cols = len(headers)
        cell = lambda v, w=wrap: textwrap.fill(str(v), w, break_long_words=False) if str(v) else ""  # noqa: E731
        body = [[cell(v) for v in r] for r in rows]
        body_w = [max([len(x) for r in body for x in r[k].split("\n")] + [1]) for k in range(cols)]
        # headers wrap at their column's widest value (at least 8 characters), so a long title does not widen it
        head = [cell(h, max(8, body_w[k])) for k, h in enumerate(headers)]
        widths = [max(len(x) for c in [head[k], *[r[k] for r in body]] for x in c.split("\n")) + 2 for k in range(cols)]
        total = float(sum(widths))
        # shrink the type (to 6 pt at least) until the widest characters fit the printable width
        avail_pt = (1 - 2 * MARGIN) * A4_IN[0] * 72
        size = max(6.0, min(size, avail_pt / (0.62 * total)))
        col_w = [(1 - 2 * MARGIN) * w / total for w in widths]
        line_h = LINE * size / 9 * 1.15
        heights = [line_h * (max(c.count("\n") for c in r) + 1) + 0.004 for r in [head, *body]]
        if not any(headers):
            heights[0] = 0.0
        start = 0
        while start < len(body):
            self.need(heights[0] + heights[start + 1])
            room = self.y - BOTTOM - heights[0]
            end, used = start, 0.0
            while end < len(body) and used + heights[end + 1] <= room:
                used += heights[end + 1]
                end += 1
            end = max(end, start + 1)
            chunk_h = [heights[0], *heights[start + 1 : end + 1]]
            ax = self.fig.add_axes((MARGIN, self.y - sum(chunk_h), 1 - 2 * MARGIN, sum(chunk_h)))
            ax.axis("off")
            tab = ax.table(
                cellText=body[start:end],
                colLabels=head if any(headers) else None,
                colWidths=col_w,
                loc="upper left",
                cellLoc="left",
            )
            tab.auto_set_font_size(False)
            tab.set_fontsize(size)
            off = 0 if any(headers) else 1
            for (r, _c), c in tab.get_celld().items():
                c.set_height(chunk_h[r + off] / sum(chunk_h))
                c.set_edgecolor("#BBBBBB")
                c.set_linewidth(0.5)
                if r == 0:
                    c.set_facecolor("#EEF3F8")
            self.y -= sum(chunk_h) + LINE * 0.4
            start = end
        if not body:
            self.text("(none)", size)

    def figure(self, fig: Any) -> None:
        """A chart on a page of its own, A4 wide, at most a page high."""
        self.close_page()
        w, h = fig.get_size_inches()
        scale = min(A4_IN[0] * 0.92 / w, A4_IN[1] * 0.9 / h)
        fig.set_size_inches(A4_IN)
        fh = h * scale / A4_IN[1]
        fig.tight_layout(rect=(0.03, max(0.03, 0.97 - fh), 0.97, 0.97))
        self.pdf.savefig(fig)
        self.fig = None
        self.new_page()

    def close_page(self) -> None:
        if self.fig is not None and self.y < TOP:
            self.pdf.savefig(self.fig)
            self.fig = None

    def finish(self) -> None:
        if self.fig is not None and self.y < TOP:
            self.pdf.savefig(self.fig)
        self.fig = None


def table_block(p: _Pages, t: Table) -> None:
    p.need(LINE * 4)
    p.text(t.title, 10.5, bold=True)
    p.gap(0.3)
    p.table(t.headers, t.rows)
    for n in t.notes:
        p.text(n, 7.5, colour="#444444")
    p.gap(0.8)


def render_pdf(page: SummaryPage, charts: list[tuple[str, Any]], tables: list[Table], appendix: list[Table]) -> bytes:
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}), PdfPages(buf) as pdf:
        info = pdf.infodict()
        info["Title"] = page.title
        p = _Pages(pdf)
        p.text(page.title, 16, bold=True)
        p.gap(0.8)
        for w in page.warnings:
            p.text(w, 9, bold=True, colour="#b00020")
        p.table(["", ""], [list(r) for r in page.rows], size=9, wrap=70)
        p.gap(0.5)
        p.text(page.muscle_title, 10.5, bold=True)
        p.table(page.muscle_headers, page.muscle_rows, size=8, wrap=22)
        p.gap(0.5)
        p.text(page.previous_line, 9)
        if page.previous:
            p.table(["Figure", "Then", "Now"], [list(r) for r in page.previous], size=8)
        p.gap(0.5)
        p.text("In short", 10.5, bold=True)
        for s in page.interpretation:
            p.text("• " + s, 9)
        p.gap(0.5)
        p.text("Therapist notes", 10.5, bold=True)
        for n in page.notes:
            p.text(n, 9)
        p.gap(0.5)
        p.text(page.calibration, 8, colour="#444444")
        p.close_page()
        p.fig = None
        for _alt, fig in charts:
            p.figure(fig)
        if p.fig is None:
            p.new_page()
        if tables:
            p.text("Tables", 13, bold=True)
            p.gap(0.5)
            for t in tables:
                table_block(p, t)
        p.close_page()
        p.new_page()
        p.text("Appendix: technical detail", 13, bold=True)
        p.gap(0.5)
        for t in appendix:
            table_block(p, t)
        p.finish()
    return buf.getvalue()
