"""``emg report PATH -o report.html``: one self-contained HTML report of a recording."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from emg.commands.analyze import add_analysis_options

    p = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report of a recording",
        description="Analyse a recording and write one HTML file that opens offline in any browser: "
        "raw signal and envelope with activations shaded, activation and per-rep tables, "
        "fatigue plot, signal-quality table and the settings used (figures embedded as PNG).",
    )
    p.add_argument("path", metavar="PATH", help="recording file (any format `emg analyze` reads)")
    p.add_argument("-o", "--out", metavar="REPORT.html", help="output HTML file (default: PATH with .report.html)")
    p.add_argument("--force", action="store_true", help="replace the output HTML file if it exists")
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
