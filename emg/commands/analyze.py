"""``emg analyze PATH``: activations, noise floor, signal quality, fatigue and reps of a recording."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``analyze``, ``report`` and ``progress``."""
    p.add_argument(
        "--channels",
        nargs="+",
        metavar="CH",
        help="channels to analyse: names, muscle labels or 1-based numbers (default: the channels the session "
        "used, where the recording says; else all)",
    )
    p.add_argument(
        "--all-channels",
        action="store_true",
        help="analyse every channel of the file, also those the session did not use",
    )
    p.add_argument(
        "--mains",
        default="auto",
        metavar="50|60|none",
        help="mains frequency to notch (with its harmonics and their aliases); default: from the "
        "recording, else detected from the data",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--zero-phase",
        dest="zero_phase",
        action="store_true",
        default=True,
        help="zero-phase filtering: the best offline estimate (default)",
    )
    mode.add_argument(
        "--causal", dest="zero_phase", action="store_false", help="causal filtering: exactly what the patient saw live"
    )
    heart = p.add_mutually_exclusive_group()
    heart.add_argument(
        "--near-heart",
        dest="near_heart",
        action="store_const",
        const=True,
        default=None,
        help="30 Hz high-pass for trunk muscles (default: on when ECG is found in the data)",
    )
    heart.add_argument(
        "--no-near-heart",
        dest="near_heart",
        action="store_const",
        const=False,
        help="never switch to the 30 Hz near-heart high-pass",
    )
    p.add_argument(
        "--envelope",
        default="adaptive",
        choices=("adaptive", "linear", "rms", "tkeo"),
        help="envelope method (default: adaptive, as in the live view)",
    )
    p.add_argument(
        "--calibration",
        metavar="FILE",
        help="calibration JSON (rest floor and reference) for %% of reference; default: the "
        "recording's own calibration, if it has one",
    )
    p.add_argument("--fs", type=float, metavar="HZ", help="sampling rate, for CSV files without a time column")
    p.add_argument("--units", metavar="UNIT", help="what a CSV/text file's values are: uV (default), mV, V or counts")


def settings_from_args(args: argparse.Namespace) -> Any:
    from emg.analysis import AnalysisSettings
    from emg.errors import ConfigError

    mains_txt = str(args.mains).strip().lower()
    if mains_txt == "auto":
        mains = None
    elif mains_txt in ("none", "off", "0"):
        mains = 0.0
    elif mains_txt in ("50", "60"):
        mains = float(mains_txt)
    else:
        raise ConfigError(f"--mains {args.mains!r} is not 50, 60, none or auto")
    cal = None
    if args.calibration:
        from feedback.calibration_store import read_calibration

        cal_path = Path(args.calibration)
        if not cal_path.exists():
            raise ConfigError(f"calibration file not found: {cal_path} (check the path)")
        read_calibration(cal_path)  # one-line FeedbackError for a folder, a binary or a non-calibration file
        cal = cal_path.read_text(encoding="utf-8")
    return AnalysisSettings(
        channels=args.channels,
        all_channels=bool(args.all_channels),
        mains_hz=mains,
        zero_phase=args.zero_phase,
        envelope=args.envelope,
        near_heart=args.near_heart,
        calibration=cal,
        fs_hz=args.fs,
        units=args.units,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse recordings: activations, noise floor, quality, fatigue, reps",
        description="Analyse a recording (the project's, OpenBCI GUI v4/v6 text, EDF/EDF+/BDF/BDF+, a "
        "Simple Text Format file or a CSV with a time column) or a folder of them. Per channel: "
        "activations (onset, offset, duration, peak and mean amplitude, and % of reference "
        "when a calibration is known), the rest noise floor, signal quality (mains share, "
        "railing, flat or disconnected, dropped packets, ECG), fatigue (median-frequency slope "
        "over sustained contractions); across channels co-contraction and symmetry; for drill "
        "recordings the per-rep metrics. --json prints the documented schema "
        "(docs/ANALYSIS_JSON.md).",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="recording file(s) or folder(s)")
    p.add_argument("--json", action="store_true", help="print JSON (one object, or a list for several files)")
    p.add_argument("-o", "--out", metavar="FILE", help="also write the JSON to FILE")
    p.add_argument("--force", action="store_true", help="replace the -o FILE if it exists")
    add_analysis_options(p)
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address (e.g. tcp://127.0.0.1:8786) to analyse many files on a cluster",
    )
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes for many files (default: CPUs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def expand_paths(paths: list[str]) -> list[Path]:
    from emg.errors import RecordingError
    from emg.recordings.readers import find_recordings

    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = find_recordings(p)
            if not found:
                raise RecordingError(f"no recordings found in folder {p} (expected .csv+.json, .txt, .edf, .bdf)")
            out.extend(found)
        else:
            out.append(p)
    return out


def run(args: argparse.Namespace) -> int:
    from emg.analysis import analyze_file, analyze_many
    from emg.errors import ConfigError, RecordingError
    from emg.recordings.outputs import check_output, write_output

    if args.workers is not None and args.workers < 1:
        raise ConfigError(
            f"--workers {args.workers} is not a positive number of processes; give e.g. --workers 2 "
            "(or leave it out to use every CPU)"
        )
    settings = settings_from_args(args)
    paths = expand_paths(args.paths)
    if args.out:
        check_output(args.out, force=args.force, inputs=paths, example_name="analysis.json")
    show_bar = not args.no_progress and sys.stderr.isatty()
    if len(paths) == 1 and not args.scheduler:
        results = [analyze_file(paths[0], settings, progress=show_bar)]
    else:
        results = analyze_many(paths, settings, scheduler=args.scheduler, workers=args.workers, progress=show_bar)
    payload: Any = results[0] if len(results) == 1 else results
    text = json.dumps(payload, indent=2, allow_nan=False)
    if args.out:
        write_output(args.out, text + "\n")
    if args.json:
        print(text)
    else:
        for res in results:
            print(format_text(res))
        if args.out:
            print(f"JSON written to {args.out}")
    failed = [r for r in results if r.get("error")]
    if len(results) == 1 and failed:
        raise RecordingError(failed[0]["error"])
    if failed:
        print(f"{len(failed)} of {len(results)} recording(s) could not be analysed", file=sys.stderr)
        return 4
    return 0


def format_text(res: dict[str, Any]) -> str:
    """A human-readable summary of one analysis dict."""
    if res.get("error") and not res.get("channels"):
        return f"{res.get('path')}: ERROR {res['error']}"
    st = res["settings"]
    u = res.get("units", "uV")
    lines = [
        f"{res.get('path')}  ({res.get('source_format')}, {res['sampling_rate']:g} Hz, "
        f"{res['duration_s']:.1f} s, {len(res['channels'])} channel(s), values in {u})",
        f"  {st['mode']}: {st['filters']}; "
        + (
            f"mains {st['mains_hz']:g} Hz ({st['mains_source']}); "
            if st["mains_hz"]
            else f"no mains notch ({st['mains_source']}); "
        )
        + f"envelope {st['envelope']}"
        + ("; near-heart 30 Hz high-pass (" + st["near_heart_reason"] + ")" if st["near_heart"] else ""),
    ]
    q = res.get("quality") or {}
    if q.get("dropped_packets"):
        lines.append(f"  dropped packets: {q['dropped_packets']}")
    for flag in q.get("flags", []):
        lines.append(f"  ! {flag}")
    for ch in res["channels"]:
        cq = ch["quality"]
        head = f"  [{ch.get('muscle') or ch['name']}] {ch['status']}"  # one name: the muscle (side), else the channel
        if ch["status"] != "ok" or not ch["activations"]:
            head += f": {ch['reason']}"
        lines.append(head)
        if cq.get("nan_samples") and ch["status"] != "no-data":
            lines.append(
                f"    ! {cq['nan_samples']} NaN/inf sample(s) ({cq.get('nan_fraction', 0):.1%}) were bridged by "
                "interpolation (zero-phase) or held (causal); check the electrode, the cable and the file"
            )
        if ch["noise_floor"] is not None:
            ms = cq.get("mains_share")
            ecg = cq.get("ecg") or {}
            lines.append(
                f"    noise floor {ch['noise_floor']:.4g} {u} RMS; mains share "
                f"{'n/a' if ms is None else f'{ms:.0%}'}"
                + (f"; ECG {ecg.get('heart_rate_bpm')} bpm" if ecg.get("contaminated") else "")
            )
        if ch["activations"]:
            pct = "peak_pct" in ch["activations"][0]
            lines.append(f"    {ch['n_activations']} activation(s), {ch['n_confident']} confident (>= 3x rest):")
            lines.append(
                f"      {'onset s':>9} {'offset s':>9} {'dur s':>7} {'peak':>9} {'mean':>9} {'x rest':>6}"
                + (f" {'peak %':>7}" if pct else "")
            )
            for a in ch["activations"]:
                ratio = a.get("ratio_to_rest")
                lines.append(
                    f"      {a['onset_s']:>9.3f} {a['offset_s']:>9.3f} {a['duration_s']:>7.3f} "
                    f"{a['peak']:>9.4g} {a['mean']:>9.4g} {'-' if ratio is None else f'{ratio:.1f}':>6}"
                    + (f" {a['peak_pct']:>7.1f}" if pct and a.get("peak_pct") is not None else "")
                )
        fat = ch.get("fatigue") or {}
        if fat.get("median_frequency_slope_hz_per_s") is not None:
            lines.append(
                f"    fatigue: median frequency {fat['median_frequency_slope_hz_per_s']:+.3f} Hz/s "
                f"({fat['fatigue_index_pct_per_s']:+.2f} %/s) over {len(fat['contractions'])} "
                "sustained contraction(s)"
            )
    for cc in res.get("cocontraction", []):
        lines.append(
            f"  co-contraction {cc['channels'][0]} / {cc['channels'][1]}: {cc['index_pct']:.1f} % "
            f"({cc.get('normalisation', '')})"
        )
    for sy in res.get("symmetry", []):
        lines.append(f"  symmetry {sy['left']} / {sy['right']}: {sy['index_pct']:+.1f} %")
    drill = res.get("drill")
    if res.get("reps"):
        lines.append(
            f"  drill {drill.get('name') or ''}: {drill['reps_succeeded']}/{drill['reps_attempted']} reps succeeded"
        )
        for r in res["reps"]:
            rt = r.get("reaction_time_s")
            lines.append(
                f"    set {r['set']} rep {r['rep']}: {r['result']}; reaction "
                f"{'n/a' if rt is None else f'{rt:.3f} s'}"
                + (f"; in band {r['time_in_band_s']:.2f} s" if r.get("time_in_band_s") is not None else "")
                + (f"; relax {r['time_to_relax_s']:.2f} s" if r.get("time_to_relax_s") is not None else "")
            )
    return "\n".join(lines)
