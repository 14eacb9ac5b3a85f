"""Route BrainFlow's native (C++) log away from the terminal into Python :mod:`logging`.

BrainFlow's board and data loggers write straight to file descriptor 2, which nobody can
filter or capture. :func:`route_brainflow_logging` points both at a private temporary file and
forwards each entry to the ``emg.brainflow`` logger (native ``error``/``warn`` at INFO, since the
project's own one-line errors quote them; ``info``/``debug``/``trace`` at DEBUG). Forwarding happens on
:func:`drain` (the acquisition calls it while it runs and after every BrainFlow error) and on a
small daemon thread every 0.5 s. :func:`last_error` gives the most recent native error line, so a
one-line user error can say what BrainFlow saw ("serial port is empty", "board doesnt send
welcome characters!").
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import tempfile
import threading
from pathlib import Path

log = logging.getLogger("emg.brainflow")

_ENTRY = re.compile(r"^\[(?P<time>[^\]]+)\] \[(?P<logger>[^\]]+)\] \[(?P<level>[^\]]+)\] (?P<msg>.*)$")
#: native level -> Python level. Native errors and warnings are forwarded at INFO: the project's
#: own one-line errors (which quote :func:`last_error`) are what a user sees; ``-v`` shows these.
_LEVELS = {
    "critical": logging.INFO,
    "error": logging.INFO,
    "warning": logging.INFO,
    "warn": logging.INFO,
    "info": logging.DEBUG,
    "debug": logging.DEBUG,
    "trace": logging.DEBUG,
}
_ERROR_LEVELS = ("critical", "error")

_lock = threading.Lock()
_state: dict = {"path": None, "offset": 0, "pending": None, "last_error": "", "thread": None}


def route_brainflow_logging(level: str = "info") -> Path:
    """Send BrainFlow's native board and data logs to Python logging; return the temp log path.

    Safe to call many times (only the first call configures BrainFlow). ``level`` is the most
    detailed native level kept: ``"trace"``, ``"debug"``, ``"info"``, ``"warn"``, ``"error"``.
    """
    with _lock:
        if _state["path"] is not None:
            return _state["path"]
        from brainflow.board_shim import BoardShim, LogLevels
        from brainflow.data_filter import DataFilter

        _remove_stale_logs()
        fd, name = tempfile.mkstemp(prefix=f"emg-brainflow-{os.getpid()}-", suffix=".log")
        os.close(fd)
        path = Path(name)
        native = {
            "trace": LogLevels.LEVEL_TRACE,
            "debug": LogLevels.LEVEL_DEBUG,
            "info": LogLevels.LEVEL_INFO,
            "warn": LogLevels.LEVEL_WARN,
            "error": LogLevels.LEVEL_ERROR,
        }[level].value
        BoardShim.set_log_file(str(path))
        BoardShim.set_log_level(native)
        DataFilter.set_log_file(str(path))
        DataFilter.set_log_level(LogLevels.LEVEL_WARN.value)
        _state["path"] = path
        thread = threading.Thread(target=_forward_forever, name="brainflow-log", daemon=True)
        _state["thread"] = thread
        thread.start()
        atexit.register(_cleanup)
    return path


def drain() -> None:
    """Forward every complete BrainFlow log entry written since the last call."""
    with _lock:
        path = _state["path"]
        if path is None:
            return
        try:
            with open(path, "rb") as fh:
                fh.seek(_state["offset"])
                chunk = fh.read()
        except OSError:
            return
        if not chunk:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return
        _state["offset"] += end + 1
        for line in chunk[: end + 1].decode("utf-8", "replace").splitlines():
            _take_line(line)
        _flush_pending()


def last_error() -> str:
    """The most recent native error message (one line), or ``""``."""
    drain()
    return _state["last_error"]


def clear_last_error() -> None:
    """Forget the last native error (call before an operation whose errors you want to report)."""
    drain()
    _state["last_error"] = ""


def _take_line(line: str) -> None:
    match = _ENTRY.match(line)
    if match:
        _flush_pending()
        _state["pending"] = [match["level"].lower(), match["logger"], [match["msg"]]]
    elif _state["pending"] is not None:
        _state["pending"][2].append(line.strip())


def _flush_pending() -> None:
    pending = _state["pending"]
    _state["pending"] = None
    if pending is None:
        return
    level_name, logger_name, parts = pending
    message = " ".join(p for p in parts if p)
    level = _LEVELS.get(level_name, logging.INFO)
    if level_name in _ERROR_LEVELS:
        _state["last_error"] = message
    log.log(level, "%s: %s", logger_name, message)


def _forward_forever() -> None:
    import time

    while True:
        time.sleep(0.5)
        try:
            drain()
        except Exception:  # noqa: BLE001 - the forwarder must never die loudly
            pass


def _remove_stale_logs() -> None:
    """Delete log files left by processes that were killed (their pid is gone)."""
    for stale in Path(tempfile.gettempdir()).glob("emg-brainflow-*-*.log"):
        pid = stale.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            try:
                stale.unlink()
            except OSError:
                pass


def _cleanup() -> None:
    path = _state["path"]
    if path is not None:
        try:
            drain()
            path.unlink()
        except OSError:
            pass
