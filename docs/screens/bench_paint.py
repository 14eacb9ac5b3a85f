"""Measure the view's ``paint_now`` cost (ms per frame) offscreen at 16 channels.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screens/bench_paint.py [frames]``.
Prints median and p95 ms for a reach-and-hold frame (band, threshold, moving trace) at 1280x720 and 1920x1080.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from feedback.view import FeedbackView, ensure_app
from feedback.view_frame import ViewFrame


def bench(
    width: int, height: int, frames: int, n_channels: int = 16, fs_hz: float = 250.0, view_class: type = FeedbackView
) -> tuple[float, float, float, float]:
    """(median, p95) wall ms and (median, p95) CPU ms of ``paint_now`` over ``frames`` frames of
    ``fs_hz / 30`` new samples each (CPU time: less disturbed by other processes on a busy machine)."""
    app = ensure_app(headless=True)
    names = [f"channel_{i + 1}" for i in range(n_channels)]
    view = view_class(names, fs_hz)
    view.resize(width, height)
    view.show()
    app.processEvents()
    frame = ViewFrame(
        cue="HOLD",
        countdown_s=2.5,
        channel=1,
        bands_pct={1: (40.0, 60.0)},
        thresholds_pct={1: [10.0]},
        rep=2,
        reps_total=5,
        reps_planned=5,
        successes=1,
        title="Reach and hold",
    )
    rng = np.random.default_rng(0)
    chunk = max(1, int(fs_hz / 30))
    times, cpu = [], []
    for i in range(frames + 20):
        level = 50 + 30 * np.sin(i / 15.0)
        view.push(np.abs(level + 5 * rng.standard_normal((n_channels, chunk))))
        view.set_frame(frame)
        t0, c0 = time.perf_counter(), time.thread_time()
        view.paint_now()
        dt, dc = time.perf_counter() - t0, time.thread_time() - c0
        app.processEvents()  # labels paint here, as in the session loop
        if i >= 20:
            times.append(dt * 1e3)
            cpu.append(dc * 1e3)
    view.close()
    view.deleteLater()
    app.processEvents()
    return (
        float(np.median(times)),
        float(np.percentile(times, 95)),
        float(np.median(cpu)),
        float(np.percentile(cpu, 95)),
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    for w, h in ((1280, 720), (1920, 1080)):
        med, p95, cmed, cp95 = bench(w, h, n)
        print(
            f"{w}x{h}, 16 channels, {n} frames: paint_now median {med:.2f} ms, p95 {p95:.2f} ms "
            f"(CPU median {cmed:.2f} ms, p95 {cp95:.2f} ms)"
        )
