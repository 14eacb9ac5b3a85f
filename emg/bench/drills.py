"""Benchmark of the drill logic (``emg bench drills``): time per ``update`` call, as the live loop makes them.

Every shipped drill runs on 16 channels for each (rate, samples per call) case: 250 Hz x 4 samples (a Cyton
chunk per 60 Hz frame), 250 Hz x 10, 1 kHz x 17, with random activation, clean flags and an accelerometer.
The figures are the median, p99 and max microseconds per call, wall clock and this thread's CPU time (on a
shared machine the wall clock includes waiting for a core), against the live view's budget for all
processing: 1 ms per frame.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

CASES = ((250.0, 4), (250.0, 10), (1000.0, 17))
FRAME_BUDGET_US = 1000.0  # the live view's budget for all processing per frame


def bench_drills(calls: int = 3000, n_channels: int = 16, seed: int = 0) -> list[dict[str, Any]]:
    """Per shipped drill and case: ``{drill, fs_hz, chunk, median_us, p99_us, max_us, cpu_*_us}`` (us per call)."""
    from feedback.drills import make_drill, shipped_drills

    rng = np.random.default_rng(seed)
    rows = []
    for path in shipped_drills():
        for fs_hz, chunk in CASES:
            drill = make_drill(path, fs_hz=fs_hz, n_channels=n_channels)
            flags = np.zeros((n_channels, chunk), np.uint8)
            accel = np.vstack([0.01 * rng.standard_normal((2, chunk)), np.ones((1, chunk))])
            base = 30.0 + 10.0 * np.sin(np.arange(calls * chunk) / fs_hz)  # contract/relax every ~3 s
            wall = np.empty(calls)
            cpu = np.empty(calls)
            for i in range(calls):
                act = np.broadcast_to(base[i * chunk : (i + 1) * chunk] * ((i // int(fs_hz)) % 2), (n_channels, chunk))
                c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
                drill.update(i * chunk / fs_hz, act, flags, accel)
                wall[i] = time.perf_counter_ns() - t0
                cpu[i] = time.thread_time_ns() - c0
            us, cpu_us = wall / 1e3, cpu / 1e3
            rows.append(
                {
                    "drill": path.stem,
                    "fs_hz": fs_hz,
                    "chunk": chunk,
                    "median_us": round(float(np.median(us)), 1),
                    "p99_us": round(float(np.percentile(us, 99)), 1),
                    "max_us": round(float(us.max()), 1),
                    "cpu_median_us": round(float(np.median(cpu_us)), 1),
                    "cpu_p99_us": round(float(np.percentile(cpu_us, 99)), 1),
                    "cpu_max_us": round(float(cpu_us.max()), 1),
                }
            )
    return rows


def run_benchmark(*, calls: int = 3000, n_channels: int = 16) -> dict[str, Any]:
    """``calls`` update calls per drill and case on ``n_channels``: ``{calls, channels, budget_us, rows}``."""
    return {
        "calls": calls,
        "channels": n_channels,
        "budget_us": FRAME_BUDGET_US,
        "rows": bench_drills(calls, n_channels),
    }


def summary(res: dict[str, Any]) -> str:
    """The figures of :func:`run_benchmark` as a table for a person."""
    out = [
        f"drills: time per update() call, {res['channels']} channels, {res['calls']} calls per case; wall clock "
        "includes waits for the CPU on a busy machine, CPU is this thread's own time",
        f"{'drill':<30} {'fs':>6} {'chunk':>5} {'wall med':>9} {'p99':>7} {'max':>7}  {'cpu med':>8} {'p99':>7} "
        f"{'max':>7}  (us)  {'p99 / budget':>12}",
    ]
    for r in res["rows"]:
        out.append(
            f"{r['drill']:<30} {r['fs_hz']:>6g} {r['chunk']:>5} {r['median_us']:>9.1f} {r['p99_us']:>7.1f} "
            f"{r['max_us']:>7.1f}  {r['cpu_median_us']:>8.1f} {r['cpu_p99_us']:>7.1f} {r['cpu_max_us']:>7.1f}"
            f"        {r['p99_us'] / res['budget_us']:>12.3f}"
        )
    out.append(f"(budget: {res['budget_us']:g} us per frame for all processing in the live view)")
    return "\n".join(out)
