"""``emg progress DIR``: trends across sessions per patient and muscle, as a table and a plot."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from emg.commands.analyze import add_analysis_options

    p = subparsers.add_parser(
        "progress",
        help="trends across sessions per patient and muscle (table and plot)",
        description="Analyse every recording under DIR and show, per patient and muscle and in date order, "
        "peak % of reference, drill success rate, time to relax and fatigue index, with the "
        "trend of each: better or worse only when the change exceeds the smallest detectable change "
        "(from the rep-to-rep spread), else steady. Only the channels a session used are shown, the "
        "trained muscle first. The patient comes from the recording (sidecar or calibration), else from "
        "the first sub-folder of DIR. Writes a self-contained HTML page (table + plot) and a PNG.",
    )
    p.add_argument("folder", metavar="DIR", help="folder of recordings (searched recursively)")
    p.add_argument("--json", action="store_true", help="print the progress as JSON instead of a table")
    p.add_argument(
        "-o",
        "--out",
        metavar="FILE.html",
        help="HTML page with table and plot (default: DIR/progress.html, regenerated in place); a .png is "
        "written beside it. An existing FILE is replaced only with --force",
    )
    p.add_argument("--force", action="store_true", help="replace an existing -o FILE (never a recording)")
    add_analysis_options(p)
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address to analyse on a cluster")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: CPUs)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emg.analysis.progress import collect_progress, figure_png, format_table, progress_figure, render_progress_html
    from emg.commands.analyze import settings_from_args
    from emg.errors import RecordingError
    from emg.recordings.outputs import check_output, write_output

    folder = Path(args.folder)
    if folder.exists() and not folder.is_dir():
        raise RecordingError(
            f"{folder} is a file; `emg progress` takes the folder that holds the session "
            f"recordings, e.g. emg progress {folder.parent}"
        )
    if not folder.is_dir():
        raise RecordingError(f"folder not found: {folder} (give the folder that holds the session recordings)")
    out = Path(args.out) if args.out else folder / "progress.html"
    # the default page is progress's own and is regenerated in place; a file named with -o needs --force
    own = args.out is None
    check_output(out, force=args.force, protect_recordings=own, example_name="progress.html")
    check_output(out.with_suffix(".png"), force=args.force, protect_recordings=own, example_name="progress.png")
    prog = collect_progress(
        folder, settings_from_args(args), scheduler=args.scheduler, workers=args.workers, progress=sys.stderr.isatty()
    )
    if not prog["groups"]:
        raise RecordingError(
            f"none of the recordings in {folder} could be analysed: "
            + "; ".join(f"{Path(str(e['path'])).name}: {e['error']}" for e in prog["errors"][:3])
        )
    write_output(out, render_progress_html(prog))
    png = write_output(out.with_suffix(".png"), figure_png(progress_figure(prog)))
    if args.json:
        print(json.dumps(prog, indent=2, allow_nan=False))
    else:
        print(format_table(prog))
        print(f"table and plot written to {out} and {png}")
    return 0
