"""Benchmark of the offline analysis (``emg bench analysis``): a 1-hour 16-channel 250 Hz recording, end to end.

Writes a recording in the project's format (BrainFlow file + sidecar; contractions every 20 s on a noise floor),
then times: reading it back (``emg.recordings.readers.read_recording``), the analysis (``emg.analysis``) step by
step, and optionally the report (``emg.analysis.report``). The target from issue 6 is ``analysis_s``
(read + analyse) <= 10 s for 60 min x 16 ch x 250 Hz on this 2-core machine.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def make_recording(
    path: Path, *, minutes: float, n_channels: int, fs_hz: float, seed: int = 0, mains_hz: float | None = 60.0
) -> tuple[Path, int]:
    """Write the benchmark recording (contractions every 20 s, 3 uV noise floor, 20 uV mains and its
    first harmonic alias as on a Cyton); returns (csv path, number of contractions per channel)."""
    from emg.recordings.writer import RecordingWriter

    rng = np.random.default_rng(seed)
    n = int(round(minutes * 60 * fs_hz))
    env = np.zeros(n)
    onsets = np.arange(5.0, minutes * 60 - 6.0, 20.0)
    for on in onsets:
        s0 = int(on * fs_hz)
        env[s0 : s0 + int(4 * fs_hz)] = 15.0
    n_rows = 24 if n_channels <= 8 else 32
    meta = {
        "board_id": -1,
        "board_name": "benchmark",
        "sampling_rate": fs_hz,
        "num_rows": n_rows,
        "exg_rows": list(range(1, 1 + n_channels)),
        "timestamp_row": n_rows - 2,
        "marker_row": n_rows - 1,
        "package_num_row": 0,
        "channel_names": [f"ch{i + 1}" for i in range(n_channels)],
    }
    block = int(60 * fs_hz)
    with RecordingWriter(path, meta, overwrite=True, fsync=False) as w:
        for s0 in range(0, n, block):
            m = min(block, n - s0)
            rows = np.zeros((n_rows, m))
            rows[0] = np.arange(s0, s0 + m) % 256
            rows[1 : 1 + n_channels] = rng.normal(0, 3.0, (n_channels, m)) + env[s0 : s0 + m] * rng.normal(
                0, 1, (n_channels, m)
            )
            if mains_hz:
                t = np.arange(s0, s0 + m) / fs_hz
                rows[1 : 1 + n_channels] += 20.0 * np.sin(2 * np.pi * mains_hz * t) + 5.0 * np.sin(
                    2 * np.pi * 3 * mains_hz * t
                )
            rows[n_rows - 2] = 1.7e9 + np.arange(s0, s0 + m) / fs_hz
            w.write(rows)
    return Path(path).with_suffix(".csv"), len(onsets)


def run_benchmark(
    *,
    minutes: float = 60.0,
    n_channels: int = 16,
    fs_hz: float = 250.0,
    keep: Path | None = None,
    report: bool = True,
    mains_hz: float | None = 60.0,
) -> dict[str, Any]:
    """Time read + analyse (+ report) of a generated recording; returns the figures (seconds, MB). ``report``
    also times the HTML report; the analysis then keeps the filtered signals, which makes it slower. ``keep``:
    leave the recording in that folder. ``mains_hz``: mains in the generated data (None: none)."""
    from emg.analysis import AnalysisSettings, analyze_recording
    from emg.recordings.readers import read_recording

    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="emg-analysis-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    path, n_true = make_recording(
        folder / "bench", minutes=minutes, n_channels=n_channels, fs_hz=fs_hz, mains_hz=mains_hz
    )
    t_write = time.perf_counter() - t0
    # warm-up on a short file so Numba compilation (cached after the first run) is not counted
    warm = Path(tempfile.mkdtemp(prefix="emg-analysis-warm-"))
    wp, _ = make_recording(warm / "w", minutes=1.0, n_channels=n_channels, fs_hz=fs_hz, mains_hz=mains_hz)
    analyze_recording(read_recording(wp), AnalysisSettings(keep_signals=False))
    t0 = time.perf_counter()
    rec = read_recording(path)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = analyze_recording(rec, AnalysisSettings(keep_signals=report))
    t_analyse = time.perf_counter() - t0
    found = [ch["n_activations"] for ch in res.summary["channels"]]
    out: dict[str, Any] = {
        "minutes": minutes,
        "channels": n_channels,
        "fs_hz": fs_hz,
        "mains_hz": mains_hz,
        "samples": rec.n_samples,
        "filters": res.summary["settings"]["filters"],
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "write_s": round(t_write, 2),
        "read_s": round(t_read, 2),
        "analyse_s": round(t_analyse, 2),
        "analysis_s": round(t_read + t_analyse, 2),
        "steps_s": res.timings_s,
        "contractions_per_channel": n_true,
        "activations_found_per_channel": [min(found), max(found)],
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "target_s": 10.0,
    }
    if report:
        from emg.analysis.report import render_report

        t0 = time.perf_counter()
        html = render_report(res)
        out["report_s"] = round(time.perf_counter() - t0, 2)
        out["report_mb"] = round(len(html) / 1e6, 2)
    if not keep:
        for p in folder.glob("*"):
            p.unlink()
        folder.rmdir()
    for p in warm.glob("*"):
        p.unlink()
    warm.rmdir()
    return out


def summary(res: dict[str, Any]) -> str:
    """The figures of :func:`run_benchmark` for a person."""
    out = [
        f"offline analysis, {res['minutes']:g} min x {res['channels']} ch x {res['fs_hz']:g} Hz "
        f"({res['samples']} samples/channel, {res['file_mb']} MB file; {res['filters']})",
        f"  read {res['read_s']:.2f} s + analyse {res['analyse_s']:.2f} s = {res['analysis_s']:.2f} s "
        f"(target <= {res['target_s']:g} s)",
        "  steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in res["steps_s"].items()),
    ]
    if "report_s" in res:
        out.append(f"  HTML report {res['report_s']:.2f} s ({res['report_mb']} MB)")
    out += [
        f"  contractions per channel {res['contractions_per_channel']}, activations found "
        f"{res['activations_found_per_channel'][0]}-{res['activations_found_per_channel'][1]}",
        f"  machine: {res['cpus']} CPUs, load average {res['load_average_1min']}",
    ]
    return "\n".join(out)
