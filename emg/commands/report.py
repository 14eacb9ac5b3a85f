"""``emg report PATH -o report.pdf|report.html``: the session report a therapist reads (PDF or HTML)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from emg.commands.analyze import add_analysis_options

    p = subparsers.add_parser(
        "report",
        help="write the session report (A4 PDF or self-contained HTML)",
        description="Analyse a recording and write its session report: a one-page summary first (patient, "
        "drill, reps, per-muscle levels, rest baselines, time in band, change since the previous session of the "
        "same patient in the same folder, notes, a short interpretation), then trial charts, per-rep tables and "
        "a technical appendix. -o r.pdf writes a print-ready A4 PDF, -o r.html one HTML file that opens offline.",
    )
    p.add_argument("path", metavar="PATH", help="recording file (any format `emg analyze` reads)")
    p.add_argument("-o", "--out", metavar="REPORT", help="output file, .pdf or .html (default: PATH with .report.html)")
    p.add_argument("--force", action="store_true", help="replace the output file if it exists")
    add_analysis_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emg.analysis.report import write_report
    from emg.commands.analyze import settings_from_args

    src = Path(args.path)
    out = Path(args.out) if args.out else src.with_name(src.stem + ".report.html")
    settings = settings_from_args(args)
    write_report(src, out, settings, progress=sys.stderr.isatty(), force=args.force)
    print(f"report written to {out}")
    return 0
