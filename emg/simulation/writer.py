"""Write a simulation as a recording in the project's format, with its ground truth.

``PATH.csv``: the board's rows in BrainFlow's file format (through :class:`emg.recordings.writer.RecordingWriter`),
laid out as the board matching the rate: 250 Hz -> Cyton (24 rows), 200 Hz -> Ganglion (15 rows),
125 Hz -> Cyton+Daisy (32 rows), any other rate -> BrainFlow's synthetic-board layout (32 rows,
16 EXG rows) with the real rate in the sidecar. Dropped packets are left out (the package counter
jumps). Timestamps are ``start + sample / fs``.

``PATH.json``: the sidecar, with ``simulated: true``, the cues as ``cue`` events and the ground
truth under ``ground_truth`` (see :func:`emg.simulation.generator.build_truth`); the per-sample
truth is in the companion ``PATH.truth.npz`` named by ``ground_truth.truth_file``:
``activation`` (C, n) float32 on the original sample grid (dropped samples included),
``dropped`` (n,) bool, ``fs_hz``, and at ``slow_fs_hz`` (about 100 Hz; slow sample j is sample
``j * slow_step``): ``median_hz``,
``fatigue_s``, ``emg_rms_uv`` (C, m) float32.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np

from emg.acquire.boards import BoardPreset, get_preset
from emg.errors import ConfigError, RecordingError
from emg.simulation.generator import SimResult

log = logging.getLogger(__name__)

WRITE_CHUNK = 50_000


def layout_for(fs_hz: float, n_channels: int, board: str | None = None) -> BoardPreset:
    """The board whose row layout a recording at ``fs_hz`` with ``n_channels`` uses."""
    if board is None:
        board = {250.0: "cyton", 200.0: "ganglion", 125.0: "cyton-daisy"}.get(float(fs_hz), "synthetic")
        if board == "cyton" and n_channels > 8:
            board = "synthetic"
    preset = get_preset(board)
    if preset.needs_file:
        raise ConfigError(f"board {board!r} cannot hold a simulation; use cyton, cyton-daisy, ganglion or synthetic")
    if n_channels > preset.n_channels:
        raise ConfigError(
            f"{n_channels} channels do not fit the {preset.name} layout ({preset.n_channels} EXG rows); "
            "give fewer --channels or another --board"
        )
    return preset


def truth_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.name[: -len(".csv")] + ".truth.npz")


def board_rows(res: SimResult, preset: BoardPreset, start_unix_s: float, idx: np.ndarray | None = None) -> np.ndarray:
    """Board rows (R, len(idx)) in ``preset``'s layout for original samples ``idx`` (default: all kept samples)."""
    if idx is None:
        idx = np.flatnonzero(~res.dropped)
    rows = np.zeros((preset.num_rows, idx.size))
    c = res.exg_uv.shape[0]
    rows[list(preset.exg_rows[:c])] = res.exg_uv[:, idx]
    if len(preset.accel_rows) == 3:
        rows[list(preset.accel_rows)] = res.accel_g[:, idx]
    rows[preset.package_num_row] = idx % (preset.package_num_max + 1)
    rows[preset.timestamp_row] = start_unix_s + idx / res.fs_hz
    return rows


def write_simulation(
    res: SimResult,
    path: str | os.PathLike,
    *,
    board: str | None = None,
    overwrite: bool = False,
    start_unix_s: float | None = None,
) -> dict[str, Any]:
    """Write ``res`` to ``PATH.csv`` + ``PATH.json`` + ``PATH.truth.npz``; returns the sidecar dict."""
    from emg.recordings.writer import RecordingWriter, csv_and_sidecar

    csv_path, _ = csv_and_sidecar(path)
    preset = layout_for(res.fs_hz, res.exg_uv.shape[0], board)
    start = time.time() if start_unix_s is None else float(start_unix_s)
    tpath = truth_path(csv_path)
    if tpath.exists() and not overwrite:
        raise RecordingError(f"{tpath} already exists; choose another --out path (or --force to overwrite)")
    keep = ~res.dropped
    new_index = np.cumsum(keep) - 1  # original sample -> row in the file (for kept samples)
    truth = dict(res.truth)
    truth["truth_file"] = tpath.name
    truth["truth_arrays"] = {
        "activation": "(C, n) float32, fraction of reference, original sample grid",
        "dropped": "(n,) bool, samples left out of the data file",
        "median_hz": "(C, m) float32 at slow_fs_hz",
        "fatigue_s": "(C, m) float32 at slow_fs_hz",
        "emg_rms_uv": "(C, m) float32 at slow_fs_hz",
    }
    events = []
    for cue in truth.get("cues", []):
        k = int(cue["sample"])
        if k < len(keep):
            events.append(
                {
                    "label": "cue",
                    "time_s": cue["time_s"],
                    "sample": int(max(new_index[k], 0)),
                    "data": {
                        "phase": cue["phase"],
                        "target_pct": cue["target_pct"],
                        "channel": cue["channel"],
                        "source": "simulation",
                    },
                }
            )
    gains = [preset.default_gain] * res.exg_uv.shape[0]
    meta = {
        "board_id": preset.board_id,
        "board_name": preset.name,
        "sampling_rate": res.fs_hz,
        "num_rows": preset.num_rows,
        "exg_rows": list(preset.exg_rows[: res.exg_uv.shape[0]]),
        "accel_rows": list(preset.accel_rows),
        "timestamp_row": preset.timestamp_row,
        "marker_row": preset.marker_row,
        "package_num_row": preset.package_num_row,
        "channel_names": list(res.channel_names),
        "muscles": [ch.get("muscle") or "" for ch in truth.get("channels", [])],
        "gains": gains,
        "simulated": True,
        "events": events,
        "ground_truth": truth,
    }
    from datetime import datetime

    meta["start_time"] = datetime.fromtimestamp(start, UTC).isoformat(timespec="milliseconds")
    with RecordingWriter(csv_path, meta, overwrite=overwrite, fsync=False, flush_interval_s=5.0) as w:
        kept = np.flatnonzero(keep)
        for i in range(0, kept.size, WRITE_CHUNK):
            w.write(board_rows(res, preset, start, kept[i : i + WRITE_CHUNK]))
    np.savez(
        tpath,
        activation=res.activation.astype(np.float32, copy=False),
        dropped=res.dropped,
        fs_hz=res.fs_hz,
        slow_fs_hz=res.slow_fs_hz,
        slow_step=res.slow_step,
        median_hz=res.median_hz.astype(np.float32),
        fatigue_s=res.fatigue_s.astype(np.float32),
        emg_rms_uv=res.emg_rms_uv.astype(np.float32),
    )
    log.info("simulation written to %s (%d samples, truth in %s)", csv_path, int(keep.sum()), tpath.name)
    return w.meta


def load_truth(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The per-sample truth arrays of a simulated recording (``PATH.csv`` or ``PATH.truth.npz``)."""
    p = Path(path)
    if not p.name.endswith(".truth.npz"):
        from emg.recordings.writer import csv_and_sidecar

        p = truth_path(csv_and_sidecar(p)[0])
    if not p.exists():
        raise RecordingError(f"truth file {p} not found; it is written by `emg simulate` next to PATH.csv")
    with np.load(p) as z:
        return {k: z[k] for k in z.files}
