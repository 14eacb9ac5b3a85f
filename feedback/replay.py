"""Replay a drill over recorded activation: the same state machine, the same events and scores as live.

Offline analysis (``emg.analysis``) rebuilds the drill from the recording's sidecar
(:func:`feedback.drill_config.config_from_dict`) and its activation (the same dsp pipeline and
calibration, causal) and calls :func:`replay_drill`. What the therapist or patient did during the
session that is not in the signal is taken from the recorded events: ``pause``/``resume`` (the drill
ignored the data in between) and ``estimate`` (awareness trials). Because drill timing rests on
sample counts, the replayed events fall on the same samples as the live ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from feedback.drill_config import DrillConfig
from feedback.events import DrillEvent


def _field(event: Any, *names: str) -> Any:
    for name in names:
        if isinstance(event, dict) and name in event:
            return event[name]
        if hasattr(event, name):
            return getattr(event, name)
    return None


def actions_from_events(events: Iterable[Any]) -> list[tuple[float, str, Any]]:
    """``(time_s, "pause"|"resume"|"estimate", value)`` from recorded events (dicts or objects with
    ``label``, ``time_s`` or ``t_s``, ``data``), in time order."""
    out = []
    for e in events:
        label = _field(e, "label")
        t = _field(e, "time_s", "t_s")
        if label not in ("pause", "resume", "estimate") or t is None:
            continue
        data = _field(e, "data") or {}
        out.append((float(t), label, data.get("estimate_pct") if label == "estimate" else None))
    out.sort(key=lambda a: a[0])
    return out


def replay_drill(
    config: DrillConfig,
    activation_pct: np.ndarray,
    *,
    fs_hz: float,
    flags: np.ndarray | None = None,
    accel_g: np.ndarray | None = None,
    channel_names: list[str] | None = None,
    t0_s: float = 0.0,
    actions: Iterable[tuple[float, str, Any]] = (),
    chunk: int = 256,
    stop_at_end: bool = False,
) -> tuple[list[DrillEvent], dict[str, Any]]:
    """Run ``config`` over ``activation_pct`` (C, n) sampled at ``fs_hz`` starting at ``t0_s``.

    ``actions``: ``(time_s, "pause"|"resume"|"estimate", value)`` (see :func:`actions_from_events`),
    applied at the first sample at or after their time. ``stop_at_end``: stop the drill after the
    last sample (as the session does when it ends early) so the summary is final.
    Returns ``(events, summary)``.
    """
    from feedback.drills import make_drill

    act = np.asarray(activation_pct, dtype=np.float64)
    n = act.shape[1]
    drill = make_drill(config, fs_hz=fs_hz, n_channels=act.shape[0], channel_names=channel_names)
    todo = sorted(actions, key=lambda a: a[0])
    cuts = sorted({min(n, max(0, math.ceil((t - t0_s) * fs_hz - 1e-6))) for t, _, _ in todo} | {n})
    events: list[DrillEvent] = []
    start = 0
    k = 0
    for cut in cuts:
        while k < len(todo) and min(n, max(0, math.ceil((todo[k][0] - t0_s) * fs_hz - 1e-6))) <= start:
            t, label, value = todo[k]
            ts = t0_s + start / fs_hz
            if label == "pause":
                events += drill.pause(ts)
            elif label == "resume":
                events += drill.resume(ts)
            elif label == "estimate" and value is not None and hasattr(drill, "submit_estimate"):
                events += drill.submit_estimate(ts, float(value))
            k += 1
        for i in range(start, cut, chunk):
            j = min(cut, i + chunk)
            events += drill.update(
                t0_s + i / fs_hz,
                act[:, i:j],
                None if flags is None else flags[:, i:j],
                None if accel_g is None else accel_g[:, i:j],
            )
        start = cut
    if stop_at_end and not drill.finished:
        events += drill.stop(t0_s + n / fs_hz)
    return events, drill.summary()
