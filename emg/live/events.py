"""Writing session events into the recording without stalling the live loop.

Each event written to a recording flushes and fsyncs the data file and rewrites the JSON sidecar
(measured here: 9 ms typical, up to ~30 ms on a busy disk), which would show as latency if done
in the frame loop. :class:`EventWriter` does it on one background thread, in order. An event whose
recording part was already closed (a lost board closes it at once) is kept in :attr:`late` and
appended to that part's sidecar when the session ends, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EventWriter:
    """Background, in-order writer of ``(acquisition, part path, label, sample, data)`` events."""

    def __init__(self) -> None:
        self._q: queue.Queue = queue.Queue()
        self.late: dict[Path, list[dict[str, Any]]] = {}
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="emg-session-events", daemon=True)
        self._thread.start()

    def put(self, acq: Any, part: Path, label: str, sample: int, time_s: float, data: dict[str, Any]) -> None:
        """Queue one event for the recording part ``part`` made by ``acq``."""
        self._q.put((acq, part, label, int(sample), float(time_s), dict(data)))

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued event is written (or found late)."""
        done = threading.Event()
        self._q.put(done)
        if not done.wait(timeout_s):
            log.warning("session events still queued after %.0f s", timeout_s)

    def close(self) -> None:
        self.flush()
        self._q.put(None)
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                self._write(*item)
            except Exception as err:  # noqa: BLE001 - an event must never stop the session
                log.warning("could not record event %s: %s", item[2], err)

    def _write(self, acq: Any, part: Path, label: str, sample: int, time_s: float, data: dict[str, Any]) -> None:
        event = {"label": label, "time_s": time_s, "sample": sample, "data": data}
        recorder = getattr(acq, "recorder", None)
        lock = getattr(acq, "_rec_lock", None)  # the acquisition's recording lock (the pump writes rows under it)
        with lock if lock is not None else contextlib.nullcontext():
            if recorder is not None and not recorder.closed:
                recorder.add_event(label, sample, time_s, data)
                events = getattr(acq, "events", None)
                if isinstance(events, list):
                    events.append(event)
                self.written += 1
                return
        self.late.setdefault(part, []).append(event)
