"""Helpers for the drill tests (no tests here): scripted activation sequences fed in chunks, no mocks."""

from __future__ import annotations

import numpy as np

from feedback.drills import make_drill, parse_drill


def levels(fs_hz: float, *segments: tuple[float, float | tuple[float, ...]], n_channels: int = 1) -> np.ndarray:
    """Activation (C, n) built from ``(duration_s, level or per-channel levels)`` segments."""
    cols = []
    for duration_s, level in segments:
        n = int(round(duration_s * fs_hz))
        lv = np.broadcast_to(np.asarray(level, dtype=np.float64).reshape(-1, 1), (n_channels, n))
        cols.append(np.array(lv))
    return np.concatenate(cols, axis=1)


def run(drill, act: np.ndarray, *, chunk: int = 7, t0_s: float = 0.0, flags=None, accel=None):
    """Feed ``act`` (C, n) to ``drill`` in chunks of ``chunk`` samples; return all events."""
    events = []
    n = act.shape[1]
    for i in range(0, n, chunk):
        j = min(n, i + chunk)
        events += drill.update(
            t0_s + i / drill.fs_hz,
            act[:, i:j],
            None if flags is None else flags[:, i:j],
            None if accel is None else accel[:, i:j],
        )
    return events


def build(text: str, *, fs_hz: float = 100.0, n_channels: int = 1, channel_names=None):
    return make_drill(parse_drill(text), fs_hz=fs_hz, n_channels=n_channels, channel_names=channel_names)


def labels(events, *wanted: str):
    return [(e.label, round(e.t_s, 6)) for e in events if not wanted or e.label in wanted]
