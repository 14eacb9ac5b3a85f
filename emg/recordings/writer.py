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

:class:`RecordingWriter` is the one writer of a recording's files, sidecar included. Events:
:meth:`~RecordingWriter.add_event` writes at once; :meth:`~RecordingWriter.post_event` queues the
event for the writer's own background thread (in order) so a live loop is not held up by the flush,
fsync and sidecar rewrite (9-30 ms). An event that arrives after :meth:`~RecordingWriter.close`
(e.g. a drill stopped after its board was lost) is appended to the closed recording's sidecar,
rewritten atomically by the writer.
"""

from __future__ import annotations

import collections
import io
import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from emg import __version__
from emg.errors import RecordingError
from feedback.events import jsonable

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
FORMAT_NAME = "emg-biofeedback recording"

#: Sidecar keys every recording has (more may be present: ``ground_truth``, ``drill``, ...).
SIDECAR_KEYS = (
    "format",
    "format_version",
    "board_id",
    "board_name",
    "sampling_rate",
    "num_rows",
    "exg_rows",
    "accel_rows",
    "timestamp_row",
    "marker_row",
    "package_num_row",
    "channel_names",
    "muscles",
    "units",
    "gains",
    "start_time",
    "events",
    "software_version",
    "complete",
    "n_samples",
)


#: seconds the event thread waits for more events before it ends (a new one starts on demand)
EVENT_THREAD_IDLE_S = 2.0


def csv_and_sidecar(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(PATH.csv, PATH.json)`` for ``PATH.csv``, ``PATH.json`` or ``PATH``."""
    p = Path(path)
    if p.suffix.lower() in (".csv", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".csv"), p.with_name(p.name + ".json")


def part_path(base_csv: Path, part: int) -> Path:
    """Recording path of part ``part`` of a session (1 -> NAME.csv, 2 -> NAME.part2.csv, ...)."""
    if part <= 1:
        return base_csv
    return base_csv.with_name(f"{base_csv.stem}.part{part}{base_csv.suffix}")


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` so that a reader (or a crash) never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    data = json.dumps(jsonable(obj), indent=2, allow_nan=False).encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _event_dict(label: str, sample: int, time_s: float, data: dict | None) -> dict[str, Any]:
    return {"label": str(label), "time_s": float(time_s), "sample": int(sample), "data": dict(data or {})}


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
    overwritten unless ``overwrite=True``. Thread-safe: rows, events and sidecar fields may come
    from different threads.
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
                    raise RecordingError(
                        f"{p} already exists; choose another --out path (recordings are never overwritten)"
                    )
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
        self._lock = threading.RLock()  # rows, events, sidecar: one at a time
        self._posted: collections.deque[dict[str, Any]] = collections.deque()
        self._posted_cond = threading.Condition()
        self._event_thread: threading.Thread | None = None
        self._writing_posted = False
        self.meta: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "software_version": __version__,
            "start_time": datetime.now(UTC).isoformat(timespec="milliseconds"),
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
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2:
            raise RecordingError(f"board rows must be 2-D (rows x samples), got shape {rows.shape}")
        with self._lock:
            if self._closed:
                raise RecordingError(f"recording {self.csv_path} is already closed; start a new one")
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
        with self._lock:
            if self._closed:
                return
            self._fh.flush()
            if self.fsync:
                os.fsync(self._fh.fileno())
            self._pending = 0
            self._last_flush = time.monotonic()

    # -- events -------------------------------------------------------------------------------
    def add_event(self, label: str, sample: int, time_s: float, data: dict | None = None) -> dict:
        """Record an event at ``sample`` (index into the file's rows) now: rows flushed, sidecar rewritten.

        After :meth:`close` the event is appended to the closed recording's sidecar (a late event).
        Events posted before it are written first."""
        event = _event_dict(label, sample, time_s, data)
        self.flush_events()
        self._write_event(event)
        return event

    def post_event(self, label: str, sample: int, time_s: float, data: dict | None = None) -> dict:
        """Queue an event for the writer's background thread and return at once (in order with every
        other event; :meth:`flush_events` waits for them). For a live loop that must not wait on the disk."""
        event = _event_dict(label, sample, time_s, data)
        with self._posted_cond:
            self._posted.append(event)
            if self._event_thread is None:
                self._event_thread = threading.Thread(
                    target=self._write_posted, daemon=True, name=f"emg-events-{self.csv_path.stem}"
                )
                self._event_thread.start()
            self._posted_cond.notify_all()
        return event

    def flush_events(self, timeout_s: float = 10.0) -> bool:
        """Wait until every posted event is in the sidecar; False (logged) if some are still queued."""
        deadline = time.monotonic() + timeout_s
        with self._posted_cond:
            while self._posted or self._writing_posted:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.warning(
                        "%d events for %s still queued after %.0f s", len(self._posted), self.json_path, timeout_s
                    )
                    return False
                self._posted_cond.wait(remaining)
        return True

    def _write_posted(self) -> None:
        """The event thread: writes posted events in order; ends after EVENT_THREAD_IDLE_S without any."""
        while True:
            with self._posted_cond:
                if not self._posted:
                    self._posted_cond.wait(EVENT_THREAD_IDLE_S)
                if not self._posted:
                    self._event_thread = None
                    self._posted_cond.notify_all()
                    return
                event = self._posted.popleft()
                self._writing_posted = True
            try:
                self._write_event(event)
            except Exception as err:  # noqa: BLE001 - a failed event must not end the thread (nor the session)
                log.warning("could not record event %s in %s: %s", event["label"], self.json_path, err)
            finally:
                with self._posted_cond:
                    self._writing_posted = False
                    self._posted_cond.notify_all()

    def _write_event(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.meta["events"].append(event)
            if self._closed:
                log.debug("late event %s appended to %s", event["label"], self.json_path)
            else:
                self.flush()
            self._write_sidecar()

    # -- sidecar and end ----------------------------------------------------------------------
    def update(self, **fields: Any) -> None:
        """Set sidecar fields (e.g. ``drill=...``, ``calibration=...``) and rewrite the sidecar (after close too,
        as for late events: the file always says what the writer holds)."""
        with self._lock:
            self.meta.update(fields)
            self._write_sidecar()

    def close(self, stop_reason: str = "completed", **fields: Any) -> None:
        """Write the posted events, flush, mark the sidecar complete with the sample count and
        ``stop_reason``. Idempotent."""
        if self._closed:
            return
        self.flush_events()
        with self._lock:
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
                self.meta["end_time"] = datetime.now(UTC).isoformat(timespec="milliseconds")
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
