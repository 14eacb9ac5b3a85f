"""Key moments of a drill with made-up activation, for the screen gallery and the display tests (no Qt).

:func:`drill_moments` runs the real drill logic (``feedback.drills.make_drill`` and ``Drill.update``) with a
simulated patient and keeps the drill's state and the last seconds of activation at each key moment:

``working``  a cooperative patient in the middle of a rep (in the band, on the path, standing still ...),
             half way through the last 3 s (of the same cue phase) before the first success;
``success``  the frame the first rep succeeds (the success signal);
``failed``   an unhelpful patient (no effort where effort is asked, effort where quiet is asked, a lot of
             sway), the frame the first rep fails (TRY AGAIN with the reason);
``stopped``  the cooperative patient stopped early (Esc) after the first success: the end screen.

The cooperative patient reads the drill's cue: each channel the cue names gets its target level (with a
small wobble), every other channel a low resting level; awareness estimates are given as the target.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from feedback.drill_base import Drill
from feedback.drills import find_drill, load_drill, make_drill
from feedback.state import DrillState

CHUNK_S = 0.1  # the patient model's step (s): one drill update per step
WORKING_BEFORE_S = 3.0  # "working" is this long before the first success (within the same cue phase)
REST_LEVEL_PCT = 3.0
BUSY_LEVEL_PCT = 65.0  # the unhelpful patient's level on a muscle asked to stay quiet


@dataclass
class Moment:
    """One key moment: ``state`` (a copy of the drill's state) and ``activation_pct`` (C, n), the last
    ``history_s`` seconds of activation that led to it (newest sample last) at ``fs_hz``."""

    drill: str
    name: str
    state: DrillState
    activation_pct: np.ndarray
    fs_hz: float


def _levels(drill: Drill, t: float, helpful: bool) -> np.ndarray:
    """Per-channel level (%) the simulated patient produces now."""
    n = drill.n_channels
    out = np.full(n, REST_LEVEL_PCT)
    cue = drill.cue
    if cue.phase in ("contract", "hold"):
        for ch, target in cue.targets or ((cue.channel, cue.target_pct),):
            if 0 <= ch < n:
                if helpful:
                    wobble = 1.5 * math.sin(2 * math.pi * 0.4 * t + ch)
                    out[ch] = max(0.0, target + wobble) if target > 0 else REST_LEVEL_PCT
                else:
                    out[ch] = REST_LEVEL_PCT if target > 0 else BUSY_LEVEL_PCT
    elif not helpful and cue.phase == "relax":  # asked to keep a muscle low: it does not
        for ch in {cue.channel, *drill.state.ceilings_pct}:
            if 0 <= ch < n:
                out[ch] = BUSY_LEVEL_PCT
    for ch in range(n):  # the other muscles: a little activity, different per muscle
        if out[ch] == REST_LEVEL_PCT:
            out[ch] = REST_LEVEL_PCT + 2.0 * (ch % 3) + 1.0 * math.sin(0.7 * t + ch)
    return out


def _accel(t0: float, n: int, fs_hz: float, sway_deg: float) -> np.ndarray:
    """(3, n) accelerometer samples in g: gravity along z, tilted ``sway_deg`` back and forth on two axes."""
    t = t0 + np.arange(n) / fs_hz
    ax = np.radians(sway_deg * np.sin(2 * np.pi * 0.5 * t))
    ay = np.radians(sway_deg * 0.6 * np.sin(2 * np.pi * 0.3 * t + 1.0))
    return np.vstack([np.sin(ax), np.sin(ay), np.cos(ax) * np.cos(ay)])


def _run(
    name: str, channel_names: list[str], fs_hz: float, history_s: float, helpful: bool, max_s: float
) -> dict[str, Moment]:
    drill = make_drill(
        load_drill(find_drill(name)), fs_hz=fs_hz, n_channels=len(channel_names), channel_names=channel_names
    )
    n_chunk = max(1, int(round(CHUNK_S * fs_hz)))
    n_hist = int(round(history_s * fs_hz))
    hist = np.zeros((len(channel_names), n_hist))
    out: dict[str, Moment] = {}
    recent: deque[tuple[float, str, DrillState, np.ndarray]] = deque(maxlen=int(WORKING_BEFORE_S / CHUNK_S) + 1)
    t = 0.0
    sway = 1.0 if helpful else 6.0
    while t < max_s and not drill.finished:
        lv = _levels(drill, t, helpful)
        ramp = np.linspace(0, 1, n_chunk)
        last = hist[:, -1:]
        act = last + (lv[:, None] - last) * np.minimum(1.0, ramp * 4)  # reach the level within a quarter chunk
        events = drill.update(t, act, None, _accel(t, n_chunk, fs_hz, sway))
        hist = np.concatenate([hist[:, n_chunk:], act], axis=1)
        t += n_chunk / fs_hz
        if getattr(drill, "phase", "") == "estimate" and hasattr(drill, "submit_estimate"):
            target = float(getattr(drill, "target_pct", 40.0))
            events += drill.submit_estimate(t, target if helpful else target + 40.0)
        labels = {e.label for e in events}
        snap = (copy.deepcopy(drill.state), hist.copy())
        if helpful and "success" in labels and "success" not in out:
            if recent:
                same = [r for r in recent if r[1] == recent[-1][1]]  # the same cue phase as just before
                _, _, state, act_before = same[len(same) // 2]
                out["working"] = Moment(name, "working", state, act_before, fs_hz)
            out["success"] = Moment(name, "success", snap[0], snap[1], fs_hz)
            drill.stop(t)
            out["stopped"] = Moment(name, "stopped", copy.deepcopy(drill.state), hist.copy(), fs_hz)
            return out
        if not helpful and "failure" in labels:
            out["failed"] = Moment(name, "failed", snap[0], snap[1], fs_hz)
            return out
        recent.append((t, drill.cue.phase, *snap))
    return out


def drill_moments(
    name: str | Path,
    channel_names: list[str],
    *,
    fs_hz: float = 100.0,
    history_s: float = 8.0,
    max_s: float = 900.0,
) -> list[Moment]:
    """The key moments of a shipped drill (name) or drill file (path) that the simulated patient reaches
    within ``max_s`` seconds of drill time: ``working``, ``success``, ``failed``, ``stopped`` (in that order)."""
    key = str(name)
    good = _run(key, channel_names, fs_hz, history_s, True, max_s)
    bad = _run(key, channel_names, fs_hz, history_s, False, max_s)
    found = {**good, **bad}
    return [found[m] for m in ("working", "success", "failed", "stopped") if m in found]
