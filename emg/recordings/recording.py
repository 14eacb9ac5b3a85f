"""The in-memory form of a recording, whatever file it came from.

Every reader (the project's BrainFlow file + JSON sidecar, OpenBCI GUI text, EDF/BDF, plain CSV)
returns a :class:`Recording`; analysis, reports, export and replay work on it.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emg.errors import RecordingError
from emg.recordings.text_table import parse_table
from emg.recordings.writer import FORMAT_VERSION

log = logging.getLogger(__name__)


@dataclass
class Event:
    """Something that happened at one sample: a cue, a rep start/end, a mark, an artefact flag.

    ``data`` carries structured details (e.g. ``{"target_pct": [40, 60]}``) and is stored as JSON.
    """

    label: str
    sample: int
    time_s: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recording:
    """EMG channels in microvolts, channels x samples, with what is known about them."""

    data_uv: np.ndarray
    fs_hz: float
    channel_names: list[str]
    muscles: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    timestamps: np.ndarray | None = None  # (n,) board timestamps, unix seconds
    accel: np.ndarray | None = None  # (3, n) accelerometer in g, where the board has one
    package_num: np.ndarray | None = None  # (n,) board package counter, for dropped-packet checks
    rows: np.ndarray | None = None  # (R, n) every board row as recorded (project format only)
    source_format: str = ""
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # sidecar / header fields

    @property
    def n_channels(self) -> int:
        return int(self.data_uv.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.data_uv.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz if self.fs_hz else 0.0


# --------------------------------------------------------------------------- project format

#: Sidecar keys without which a recording cannot be read.
_REQUIRED_KEYS = ("format_version", "board_id", "sampling_rate", "exg_rows", "timestamp_row")
_SUPPORTED_FORMAT_VERSIONS = (FORMAT_VERSION,)  # the versions this reader understands


def read_sidecar(path: str | os.PathLike) -> dict[str, Any]:
    """The sidecar (``PATH.json``) of the recording at ``path`` (``PATH.csv``/``PATH.json``/``PATH``).

    Raises :class:`RecordingError` (one line) when it is missing, not JSON, or not this project's.
    """
    from emg.recordings.writer import csv_and_sidecar

    csv_path, side = csv_and_sidecar(path)
    if not side.exists():
        raise RecordingError(
            f"{csv_path} has no sidecar {side.name}; it is not a recording made by `emg record` "
            "(for other formats use `emg analyze`, which reads OpenBCI, EDF/BDF and CSV files)"
        )
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise RecordingError(f"sidecar {side} is not text; restore it from a backup or re-record") from None
    except ValueError as err:
        raise RecordingError(
            f"sidecar {side} is not valid JSON ({getattr(err, 'msg', err)}); restore it from a backup or re-record"
        ) from None
    if not isinstance(meta, dict):
        raise RecordingError(f"sidecar {side} is not a JSON object; it is not this project's sidecar")
    missing = [k for k in _REQUIRED_KEYS if k not in meta]
    if missing:
        raise RecordingError(
            f"sidecar {side} lacks {', '.join(missing)}; it is not this project's sidecar or it is damaged"
        )
    if meta["format_version"] not in _SUPPORTED_FORMAT_VERSIONS:
        raise RecordingError(
            f"sidecar {side} has format_version {meta['format_version']!r}; this emg reads "
            f"version {', '.join(map(str, _SUPPORTED_FORMAT_VERSIONS))}: update emg"
        )
    fs = meta["sampling_rate"]
    if not isinstance(fs, (int, float)) or not math.isfinite(fs) or fs <= 0:
        raise RecordingError(f"sidecar {side} has sampling_rate {fs!r}; it must be a positive number of Hz")
    return meta


def _parse_rows(csv_path: Path, n_rows_expected: int | None) -> tuple[np.ndarray, bool]:
    """Board rows (R, n) from a BrainFlow file; also whether a partial last line was dropped."""
    try:
        raw = csv_path.read_bytes()
    except OSError as err:
        raise RecordingError(f"cannot read {csv_path}: {err.strerror}; check the path and permissions") from None
    if not raw.strip():
        raise RecordingError(f"{csv_path} is empty: no samples were recorded; record again")
    partial = not raw.endswith(b"\n")
    if partial:
        cut = raw.rfind(b"\n")
        raw = raw[: cut + 1] if cut >= 0 else b""
        if not raw:
            raise RecordingError(f"{csv_path} holds no complete sample line; the recording is truncated, record again")
    if b"\x00" in raw[:4096]:
        raise RecordingError(
            f"{csv_path} is a binary file, not a BrainFlow data file; pick the .csv that `emg record` wrote"
        )
    first = raw[: raw.find(b"\n")].decode("ascii", "replace")
    n_cols = len(first.split("\t"))
    if n_cols < 2:
        raise RecordingError(
            f"{csv_path} is not a BrainFlow data file (no tab-separated columns in the first line); "
            "pick the .csv that `emg record` wrote"
        )
    if n_rows_expected is not None and n_cols != n_rows_expected:
        raise RecordingError(
            f"{csv_path} has {n_cols} columns but its sidecar describes {n_rows_expected} board rows: "
            "the sidecar does not belong to this data file; restore the matching .json"
        )
    data = parse_table(raw, n_cols)  # exact and fast; None where the text leaves its fast path
    if data is not None:
        return data.T.copy(), partial
    try:
        data = np.loadtxt(io.BytesIO(raw), delimiter="\t", dtype=np.float64, ndmin=2)
    except ValueError as err:
        detail = str(err).splitlines()[0] if str(err) else "unparseable value"
        raise RecordingError(
            f"{csv_path} is not a clean BrainFlow data file ({detail}); pick the .csv that `emg record` wrote"
        ) from None
    return data.T.copy(), partial


def load_recording(path: str | os.PathLike, *, allow_truncated: bool = False) -> Recording:
    """Read a recording in the project's format: ``PATH.csv`` (BrainFlow rows) + ``PATH.json``.

    ``path`` may name the .csv, the .json or neither. ``data_uv`` is (C, n) microvolts from the
    EXG rows; ``rows`` keeps every board row. A recording whose sidecar says ``complete: false``
    (the recorder was killed) is read up to its last whole line. A *complete* recording whose file
    holds fewer samples than its sidecar says is truncated: RecordingError unless
    ``allow_truncated`` (then the samples present are returned, ``meta["truncated"] = True``).
    """
    from emg.recordings.writer import csv_and_sidecar

    csv_path, side = csv_and_sidecar(path)
    if not csv_path.exists():
        if side.exists():
            raise RecordingError(
                f"data file {csv_path} is missing (only its sidecar {side.name} is there); "
                "restore the .csv or re-record"
            )
        raise RecordingError(f"recording {csv_path} not found; check the path (a recording is PATH.csv + PATH.json)")
    if csv_path.is_dir():
        raise RecordingError(f"{csv_path} is a folder, not a recording; give the PATH.csv that `emg record` wrote")
    meta = read_sidecar(csv_path)
    num_rows = meta.get("num_rows")
    rows, partial = _parse_rows(csv_path, int(num_rows) if isinstance(num_rows, int) else None)
    n = rows.shape[1]
    exg_rows = [int(r) for r in meta["exg_rows"]]
    if not exg_rows or max(exg_rows) >= rows.shape[0] or min(exg_rows) < 0:
        raise RecordingError(
            f"{csv_path} has {rows.shape[0]} columns but its sidecar names EXG rows "
            f"{exg_rows}: the sidecar does not match the data; restore the matching .json"
        )
    complete = bool(meta.get("complete"))
    declared = meta.get("n_samples")
    truncated = False
    if complete and isinstance(declared, int) and declared != n:
        if n < declared:
            truncated = True
            if not allow_truncated:
                raise RecordingError(
                    f"{csv_path} is truncated: its sidecar says {declared} samples, the file holds {n}; "
                    "restore the full file (`emg replay --allow-truncated` plays the samples present)"
                )
        else:
            raise RecordingError(
                f"{csv_path} holds {n} samples but its sidecar says {declared}: "
                "the sidecar does not belong to this data file; restore the matching .json"
            )
    elif complete and partial:
        truncated = True
        if not allow_truncated:
            raise RecordingError(
                f"{csv_path} is truncated (its last line is cut short); restore the full file "
                "(`emg replay --allow-truncated` plays the samples present)"
            )
    if not complete:
        log.warning("%s: the recording did not end cleanly (sidecar incomplete); read %d whole samples", csv_path, n)
    fs_hz = float(meta["sampling_rate"])

    def row(key: str) -> np.ndarray | None:
        r = meta.get(key)
        if isinstance(r, int) and 0 <= r < rows.shape[0]:
            return rows[r].copy()
        return None

    timestamps = row("timestamp_row")
    _check_rate(csv_path, timestamps, fs_hz)
    accel_rows = [int(r) for r in (meta.get("accel_rows") or []) if 0 <= int(r) < rows.shape[0]]
    accel = rows[accel_rows].copy() if len(accel_rows) == 3 else None
    names = list(meta.get("channel_names") or [f"ch{i + 1}" for i in range(len(exg_rows))])
    if len(names) != len(exg_rows):
        raise RecordingError(
            f"sidecar {side} names {len(names)} channels for {len(exg_rows)} EXG rows; "
            "the sidecar is damaged: restore it"
        )
    events = [
        Event(
            label=str(e.get("label", "")),
            sample=int(e.get("sample", 0)),
            time_s=float(e.get("time_s", 0.0)),
            data=dict(e.get("data") or {}),
        )
        for e in meta.get("events", [])
        if isinstance(e, dict)
    ]
    meta = dict(meta)
    meta["truncated"] = truncated
    meta["interrupted"] = not complete
    return Recording(
        data_uv=rows[exg_rows].copy(),
        fs_hz=fs_hz,
        channel_names=names,
        muscles=list(meta.get("muscles") or []),
        events=events,
        timestamps=timestamps,
        accel=accel,
        package_num=row("package_num_row"),
        source_format="emg-biofeedback",
        path=csv_path,
        meta=meta,
        rows=rows,
    )


def _check_rate(csv_path: Path, timestamps: np.ndarray | None, fs_hz: float) -> None:
    """RecordingError when the file's timestamps clearly contradict the sidecar's rate."""
    if timestamps is None or timestamps.size < 50 or not np.all(np.isfinite(timestamps)):
        return
    span_s = float(timestamps[-1] - timestamps[0])
    if span_s < 1.0 or timestamps[0] <= 0:  # too short, zeroed or unpaced timestamps carry no rate
        return
    measured_hz = (timestamps.size - 1) / span_s
    if not 0.75 * fs_hz <= measured_hz <= 1.25 * fs_hz:
        raise RecordingError(
            f"{csv_path} was sampled at about {measured_hz:.0f} Hz but its sidecar says {fs_hz:g} Hz: "
            "the sidecar does not match the data; restore the matching .json"
        )
