"""Replay a drill over recorded activation: the same state machine, the same events and scores as live.

Offline analysis (``emg.analysis``) rebuilds the drill from the recording's sidecar
(:func:`feedback.drill_config.config_from_dict`) and its activation (the same dsp pipeline and
calibration, causal) and calls :func:`replay_drill`. What the therapist or patient did during the
session that is not in the signal is taken from the recorded events: ``pause``/``resume`` (the drill
ignored the data in between), ``estimate`` (awareness trials), ``stop`` (the drill ended early) and the
therapist's ``threshold_change`` (Up/Down keys, re-applied with ``Drill.shift_band``). Because drill timing
rests on sample counts and the chunk times are computed as live (``sample / fs_hz``), the replayed events
fall on the same samples as the live ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from feedback import events as ev
from feedback.drill_config import DrillConfig
from feedback.events import DrillEvent

#: the recorded events that are actions of the therapist or patient (not caused by the signal)
ACTION_LABELS = (ev.PAUSE, ev.RESUME, ev.ESTIMATE, ev.STOP, ev.THRESHOLD_CHANGE)


def _field(event: Any, *names: str) -> Any:
    for name in names:
        if isinstance(event, dict) and name in event:
            return event[name]
        if hasattr(event, name):
            return getattr(event, name)
    return None


def band_shift_pct(data: dict[str, Any]) -> float | None:
    """The shift (%) of a therapist's ``threshold_change`` (``{name, old_pct, new_pct, reason}``): ``new - old``,
    for a band its lower edge ``new[0] - old[0]``; None for a change the drill made itself (shaping)."""
    if data.get("reason") != "therapist" or data.get("name") not in ("band_pct", "ceiling_pct"):
        return None
    old, new = data.get("old_pct"), data.get("new_pct")
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)) and old and new:
        old, new = old[0], new[0]
    if not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
        return None
    return float(new) - float(old)


def actions_from_events(events: Iterable[Any]) -> list[tuple[float, str, Any]]:
    """``(time_s, label, value)`` from recorded events (dicts or objects with ``label``, ``time_s`` or ``t_s``,
    ``data``), in time order: ``pause``/``resume``/``stop`` (value None), ``estimate`` (its ``estimate_pct``)
    and the therapist's ``threshold_change`` (value: the shift in %, see :func:`band_shift_pct`).
    ``time_s`` is the session time the live drill got the action at."""
    out = []
    for e in events:
        label = _field(e, "label")
        t = _field(e, "time_s", "t_s")
        if label not in ACTION_LABELS or t is None:
            continue
        data = _field(e, "data") or {}
        if label == ev.ESTIMATE:
            value = data.get("estimate_pct")
        elif label == ev.THRESHOLD_CHANGE:
            value = band_shift_pct(data)
            if value is None:  # the drill's own change (shaping): the replay makes it again by itself
                continue
        else:
            value = None
        out.append((float(t), label, value))
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
    first_sample: int = 0,
) -> tuple[list[DrillEvent], dict[str, Any]]:
    """Run ``config`` over ``activation_pct`` (C, n) sampled at ``fs_hz``; its column ``i`` is session sample
    ``first_sample + i``, at ``t0_s + (first_sample + i) / fs_hz`` s (the session's clock: a drill started at
    sample 2000 of a recording is replayed with ``first_sample=2000`` and the data from that sample on).

    ``actions``: ``(time_s, label, value)`` (see :func:`actions_from_events`), applied before the first
    sample at or after their time. ``stop_at_end``: stop the drill after the last sample (as the session does
    when it ends early) so the summary is final. Returns ``(events, summary)``.
    """
    from feedback.drills import make_drill

    act = np.asarray(activation_pct, dtype=np.float64)
    n = act.shape[1]
    drill = make_drill(config, fs_hz=fs_hz, n_channels=act.shape[0], channel_names=channel_names)

    def column(t: float) -> int:
        return min(n, max(0, math.ceil((t - t0_s) * fs_hz - 1e-6) - first_sample))

    def time_of(i: int) -> float:
        return t0_s + (first_sample + i) / fs_hz

    todo = sorted(actions, key=lambda a: a[0])
    cuts = sorted({column(t) for t, _, _ in todo} | {n})
    events: list[DrillEvent] = []
    start = 0
    k = 0
    for cut in cuts:
        while k < len(todo) and column(todo[k][0]) <= start:
            _, label, value = todo[k]
            events += _act(drill, time_of(start), label, value)
            k += 1
        for i in range(start, cut, chunk):
            j = min(cut, i + chunk)
            events += drill.update(
                time_of(i),
                act[:, i:j],
                None if flags is None else flags[:, i:j],
                None if accel_g is None else accel_g[:, i:j],
            )
        start = cut
    for _, label, value in todo[k:]:  # after the last sample (a key between the last chunk and the end)
        events += _act(drill, time_of(n), label, value)
    if stop_at_end and not drill.finished:
        events += drill.stop(time_of(n))
    return events, drill.summary()


def _act(drill: Any, t_s: float, label: str, value: Any) -> list[DrillEvent]:
    """One recorded action on ``drill`` at session time ``t_s``; the events it caused."""
    if label == ev.PAUSE:
        return drill.pause(t_s)
    if label == ev.RESUME:
        return drill.resume(t_s)
    if label == ev.STOP:
        return drill.stop(t_s)
    if label == ev.ESTIMATE and value is not None and hasattr(drill, "submit_estimate"):
        return drill.submit_estimate(t_s, float(value))
    if label == ev.THRESHOLD_CHANGE and value is not None:
        return drill.shift_band(t_s, float(value))
    return []
