"""Sample-to-screen latency and the session's time budget, measured as the session runs.

Latency of a sample = wall-clock time (unix s) of the frame that first painted it minus the sample's
board timestamp (BrainFlow stamps each sample with the host clock when the driver parses its
packet, so this covers serial/driver delay, queueing, processing, waiting for the frame and painting;
not the display's own scan-out, which no program can see). Processing (the live chain: filters, envelope,
% of reference, quality flags; then the drill) and drawing times are kept per chunk / per frame, and CPU
time over wall time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

#: a board timestamp further than this from the host clock is not a host-clock stamp: no latency
PLAUSIBLE_CLOCK_GAP_S = 3600.0


def _stats_ms(values_s: np.ndarray) -> dict[str, Any]:
    if values_s.size == 0:
        return {"p50": None, "p95": None, "max": None, "mean": None, "n": 0}
    ms = values_s * 1000.0
    return {
        "p50": round(float(np.percentile(ms, 50)), 3),
        "p95": round(float(np.percentile(ms, 95)), 3),
        "max": round(float(np.max(ms)), 3),
        "mean": round(float(np.mean(ms)), 3),
        "n": int(ms.size),
    }


class _Growing:
    """An append-only float64 array (amortised doubling)."""

    def __init__(self, capacity: int = 4096) -> None:
        self._a = np.empty(capacity)
        self._n = 0

    def extend(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        need = self._n + values.size
        if need > self._a.size:
            grown = np.empty(max(need, 2 * self._a.size))
            grown[: self._n] = self._a[: self._n]
            self._a = grown
        self._a[self._n : need] = values
        self._n = need

    def append(self, value: float) -> None:
        self.extend(np.array([value]))

    @property
    def values(self) -> np.ndarray:
        return self._a[: self._n]


class LatencyMeter:
    """Collects per-sample latency, per-chunk processing time and per-frame drawing time."""

    def __init__(self) -> None:
        self._pending: list[np.ndarray] = []  # board timestamps pushed to the view, not yet painted
        self._latency_s = _Growing(1 << 16)
        self._processing_s = _Growing()
        self._drawing_s = _Growing()
        self._frame_times: list[float] = []
        self.implausible_samples = 0
        self._wall0 = time.perf_counter()
        self._cpu0 = time.process_time()
        self._busy_s = 0.0

    def samples_shown(self, timestamps: np.ndarray) -> None:
        """Board timestamps (unix s) of samples just handed to the view (painted at the next frame)."""
        if timestamps is not None and len(timestamps):
            self._pending.append(np.asarray(timestamps, dtype=np.float64))

    def frame_painted(self, painted_at_s: float, draw_s: float, cpu_s: float | None = None) -> None:
        """A frame finished painting at ``painted_at_s`` (unix s) after ``draw_s`` (wall) and ``cpu_s``
        (this thread's CPU time; defaults to ``draw_s``) of drawing."""
        self._drawing_s.append(draw_s)
        self._busy_s += draw_s if cpu_s is None else cpu_s
        self._frame_times.append(painted_at_s)
        if not self._pending:
            return
        ts = np.concatenate(self._pending)
        self._pending.clear()
        lat = painted_at_s - ts
        ok = np.isfinite(lat) & (np.abs(lat) < PLAUSIBLE_CLOCK_GAP_S)
        self.implausible_samples += int(np.count_nonzero(~ok))
        self._latency_s.extend(lat[ok])

    def processed(self, seconds: float, cpu_s: float | None = None) -> None:
        """One chunk took ``seconds`` (wall) and ``cpu_s`` (thread CPU; defaults to ``seconds``) from raw
        samples to drill update and view push."""
        self._processing_s.append(seconds)
        self._busy_s += seconds if cpu_s is None else cpu_s

    def recent_ms(self, since_index: int) -> tuple[float | None, float | None, int]:
        """(p50, p95) in ms of the latencies recorded since ``since_index``, and the index to pass next time."""
        values = self._latency_s.values
        recent = values[since_index:]
        if recent.size == 0:
            return None, None, values.size
        return float(np.percentile(recent, 50)) * 1000, float(np.percentile(recent, 95)) * 1000, values.size

    @property
    def latency_s(self) -> np.ndarray:
        return self._latency_s.values

    def report(self) -> dict[str, Any]:
        """``latency_ms`` / ``processing_ms`` / ``frame_ms`` stats (p50, p95, max, mean, n), frame rate, CPU."""
        wall = max(time.perf_counter() - self._wall0, 1e-9)
        cpu = time.process_time() - self._cpu0
        frames = np.asarray(self._frame_times)
        span = float(frames[-1] - frames[0]) if frames.size > 1 else 0.0
        fps = (frames.size - 1) / span if span > 0 else None
        return {
            "latency_ms": _stats_ms(self._latency_s.values),
            "processing_ms": _stats_ms(self._processing_s.values),
            "frame_ms": _stats_ms(self._drawing_s.values),
            "frames": int(frames.size),
            "fps": round(fps, 2) if fps else None,
            # CPU time the session thread spent processing and drawing, over wall time (other programs on the
            # machine do not inflate it); the whole process adds the acquisition and board threads
            "busy_pct_of_one_core": round(100.0 * self._busy_s / wall, 2),
            "process_cpu_pct_of_one_core": round(100.0 * cpu / wall, 2),
            "wall_s": round(wall, 3),
            "latency_samples_without_host_timestamp": self.implausible_samples,
        }


def format_latency_report(report: dict[str, Any]) -> str:
    """A few lines for `emg train --latency-report`."""

    def line(name: str, st: dict[str, Any]) -> str:
        if not st or not st.get("n"):
            return f"{name:<22} n/a"
        return f"{name:<22} p50 {st['p50']:8.2f}   p95 {st['p95']:8.2f}   max {st['max']:8.2f}   (n={st['n']})"

    out = [
        "latency (ms), sample's board timestamp -> frame painted:",
        line("  sample to screen", report.get("latency_ms", {})),
        line("  processing / chunk", report.get("processing_ms", {})),
        line("  drawing / frame", report.get("frame_ms", {})),
        f"  frames {report.get('frames', 0)} at {report.get('fps') or 0:.1f} fps; processing + drawing "
        f"{report.get('busy_pct_of_one_core', 0):.1f} % of one core (CPU time); "
        "whole process (incl. acquisition threads) "
        f"{report.get('process_cpu_pct_of_one_core', 0):.1f} %",
    ]
    return "\n".join(out)
