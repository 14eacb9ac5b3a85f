"""Crash-safe recordings: raw board rows in BrainFlow's file format plus a JSON sidecar.

``PATH.csv`` holds every board row BrainFlow delivered, one line per sample, tab-separated,
``%.6f``, no header: exactly what ``DataFilter.write_file`` writes, so ``DataFilter.read_file`` and
BrainFlow's playback board read it. ``PATH.json`` (the sidecar) says what the rows are; see
:data:`SIDECAR_KEYS` and :func:`emg.recordings.recording.load_recording`.

Crash safety:
- data are flushed to the kernel and ``fsync``-ed at least every ``flush_interval_s`` (0.5 s by
  default), so a process killed with SIGKILL leaves a file readable up to its last half second;
- the sidecar is written when the recording starts and rewritten atomically (temp file, fsync,
  ``os.replace``) on every event and at the end, so it is never half written. While recording it
  says ``"complete": false``; :meth:`RecordingWriter.close` sets it true with the sample count and
  why the recording stopped.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from emg import __version__
from emg.errors import RecordingError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
FORMAT_NAME = "emg-biofeedback recording"

#: Sidecar keys every recording has (more may be present: ``ground_truth``, ``drill``, ...).
SIDECAR_KEYS = (
    "format", "format_version", "board_id", "board_name", "sampling_rate", "num_rows", "exg_rows",
    "accel_rows", "timestamp_row", "marker_row", "package_num_row", "channel_names", "muscles",
    "units", "gains", "start_time", "events", "software_version", "complete", "n_samples",
)


def csv_and_sidecar(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(PATH.csv, PATH.json)`` for ``PATH.csv``, ``PATH.json`` or ``PATH``."""
    p = Path(path)
    if p.suffix.lower() in (".csv", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".csv"), p.with_name(p.name + ".json")


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` so that a reader (or a crash) never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    data = json.dumps(obj, indent=2, default=_json_default).encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def format_rows(rows: np.ndarray) -> bytes:
    """Board rows (R, n) as BrainFlow file lines: one line per sample, tab-separated, ``%.6f``."""
    if rows.shape[1] == 0:
        return b""
    buf = io.StringIO()
    np.savetxt(buf, rows.T, fmt="%.6f", delimiter="\t", newline="\n")
    return buf.getvalue().encode("ascii")


class RecordingWriter:
    """Writes one recording. Context manager; ``write(rows)`` appends board rows (R, n).

    ``meta`` is the sidecar's content (board, rate, rows, channel names, muscles, gains, ...);
    ``format``, ``format_version``, ``software_version``, ``start_time``, ``events``,
    ``complete`` and ``n_samples`` are filled in here. An existing recording is never
    overwritten unless ``overwrite=True``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        meta: dict[str, Any],
        *,
        overwrite: bool = False,
        flush_interval_s: float = 0.5,
        fsync: bool = True,
    ) -> None:
        self.csv_path, self.json_path = csv_and_sidecar(path)
        if not overwrite:
            for p in (self.csv_path, self.json_path):
                if p.exists():
                    raise RecordingError(f"{p} already exists; choose another --out path (recordings are never overwritten)")
        try:
            self.csv_path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.csv_path, "wb")
        except OSError as err:
            raise RecordingError(f"cannot write {self.csv_path}: {err.strerror}; choose a writable --out path") from err
        self.flush_interval_s = float(flush_interval_s)
        self.fsync = fsync
        self.num_rows = int(meta.get("num_rows", 0)) or None
        self.n_samples = 0
        self._pending = 0
        self._last_flush = time.monotonic()
        self._closed = False
        self.meta: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "software_version": __version__,
            "start_time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "units": {"exg": "uV", "accel": "g", "timestamp": "s (unix)"},
            "muscles": [],
            "events": [],
            **meta,
            "data_file": self.csv_path.name,
            "complete": False,
            "n_samples": 0,
        }
        try:
            from importlib.metadata import version

            self.meta.setdefault("brainflow_version", version("brainflow"))
        except Exception:  # noqa: BLE001 - informative only
            pass
        self._write_sidecar()
        log.info("recording to %s", self.csv_path)

    # -- writing ------------------------------------------------------------------------------
    def write(self, rows: np.ndarray) -> None:
        """Append board rows (R, n); flushes to disk when ``flush_interval_s`` has passed."""
        if self._closed:
            raise RecordingError(f"recording {self.csv_path} is already closed; start a new one")
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2:
            raise RecordingError(f"board rows must be 2-D (rows x samples), got shape {rows.shape}")
        if self.num_rows is None:
            self.num_rows = rows.shape[0]
        elif rows.shape[0] != self.num_rows:
            raise RecordingError(f"board rows have {rows.shape[0]} rows but the recording has {self.num_rows}")
        if rows.shape[1] == 0:
            return
        self._fh.write(format_rows(rows))
        self.n_samples += rows.shape[1]
        self._pending += rows.shape[1]
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Push written rows to the disk (flush + fsync)."""
        if self._closed:
            return
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self._pending = 0
        self._last_flush = time.monotonic()

    def add_event(self, label: str, sample: int, time_s: float, data: dict | None = None) -> dict:
        """Record an event at ``sample`` (index into the file's rows); the sidecar is rewritten."""
        event = {"label": str(label), "time_s": float(time_s), "sample": int(sample), "data": dict(data or {})}
        self.meta["events"].append(event)
        if not self._closed:
            self.flush()
            self._write_sidecar()
        return event

    def update(self, **fields: Any) -> None:
        """Set sidecar fields (e.g. ``drill=...``, ``calibration=...``) and rewrite the sidecar."""
        self.meta.update(fields)
        if not self._closed:
            self._write_sidecar()

    def close(self, stop_reason: str = "completed", **fields: Any) -> None:
        """Flush, mark the sidecar complete with the sample count and ``stop_reason``. Idempotent."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._fh.close()
            self._closed = True
            self.meta.update(fields)
            self.meta["complete"] = True
            self.meta["n_samples"] = self.n_samples
            self.meta["stop_reason"] = stop_reason
            self.meta["end_time"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            self._write_sidecar()
        log.info("recording %s closed: %d samples (%s)", self.csv_path, self.n_samples, stop_reason)

    @property
    def closed(self) -> bool:
        return self._closed

    def _write_sidecar(self) -> None:
        if not self._closed:
            self.meta["n_samples"] = self.n_samples
        write_json_atomic(self.json_path, self.meta)

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            reason = "completed"
        elif issubclass(exc_type, KeyboardInterrupt):
            reason = "interrupted (Ctrl-C)"
        else:
            reason = f"error: {exc}"
        self.close(reason)
