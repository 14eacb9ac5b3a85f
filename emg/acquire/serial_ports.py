"""Serial-port checks before BrainFlow opens a port: exists, is a tty, readable, not in use.

BrainFlow's own errors for a bad port are codes ("UNABLE_TO_OPEN_PORT_ERROR:2"); these checks turn
the common cases into one-line messages with the fix, and list the ports that do exist.
An advisory lock (:class:`PortLock`) keeps two ``emg`` processes off one dongle.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import os
import re
import stat
import tempfile
from pathlib import Path

from emg.errors import BoardError, ConfigError


def candidate_ports() -> list[str]:
    """Serial ports a board dongle could be on (``/dev/serial/by-id/*``, ttyUSB*, ttyACM*)."""
    found = (
        sorted(glob.glob("/dev/serial/by-id/*")) + sorted(glob.glob("/dev/ttyUSB*")) + sorted(glob.glob("/dev/ttyACM*"))
    )
    return found


def _ports_hint() -> str:
    ports = candidate_ports()
    return f"ports found: {', '.join(ports)}" if ports else "no USB serial ports found: is the dongle plugged in?"


def port_users(port: str) -> list[tuple[int, str]]:
    """Other processes that have ``port`` open, as (pid, command name).

    The owner of a pseudo-terminal (a process holding its ``ptmx`` master, e.g. the virtual Cyton)
    is not a user. Only processes this user may inspect are seen.
    """
    try:
        target = os.path.realpath(port)
    except OSError:
        return []
    pty_index = None
    m = re.fullmatch(r"/dev/pts/(\d+)", target)
    if m:
        pty_index = m.group(1)
    me = os.getpid()
    users = []
    for proc in glob.glob("/proc/[0-9]*"):
        pid = int(proc.rsplit("/", 1)[1])
        if pid == me:
            continue
        holds_port = holds_master = False
        try:
            fds = os.listdir(f"{proc}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"{proc}/fd/{fd}")
            except OSError:
                continue
            if link == target:
                holds_port = True
            elif pty_index is not None and link in ("/dev/ptmx", "/dev/pts/ptmx"):
                try:
                    info = Path(f"{proc}/fdinfo/{fd}").read_text()
                except OSError:
                    info = ""
                idx = re.search(r"tty-index:\s*(\d+)", info)
                if idx is None or idx.group(1) == pty_index:
                    holds_master = True
        if holds_port and not holds_master:
            try:
                name = Path(f"{proc}/comm").read_text().strip()
            except OSError:
                name = "?"
            users.append((pid, name))
    return users


def check_serial_port(port: str | None, board_name: str) -> str:
    """The port path, checked; ConfigError/BoardError (one line, with the fix) otherwise."""
    if not port:
        raise ConfigError(f"board {board_name} needs --serial-port (e.g. /dev/ttyUSB0); {_ports_hint()}")
    path = Path(port)
    if not path.exists():
        raise BoardError(f"serial port {port} does not exist; check --serial-port ({_ports_hint()})")
    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise BoardError(f"cannot inspect serial port {port}: {err.strerror}; check --serial-port") from None
    if not stat.S_ISCHR(mode):
        raise BoardError(f"{port} is not a serial device; give the dongle's port with --serial-port ({_ports_hint()})")
    if not os.access(path, os.R_OK | os.W_OK):
        raise BoardError(
            f"permission denied on {port}; add yourself to the 'dialout' group "
            "(sudo usermod -aG dialout $USER, then log in again)"
        )
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as err:
        if err.errno in (errno.EBUSY, errno.EACCES):
            raise BoardError(
                f"serial port {port} is busy or locked ({err.strerror}); close the program using it"
            ) from None
        raise BoardError(
            f"cannot open serial port {port} ({err.strerror}); check --serial-port ({_ports_hint()})"
        ) from None
    try:
        is_tty = os.isatty(fd)
    finally:
        os.close(fd)
    if not is_tty:
        raise BoardError(f"{port} is not a serial device; give the dongle's port with --serial-port ({_ports_hint()})")
    users = port_users(port)
    if users:
        who = ", ".join(f"{name} (pid {pid})" for pid, name in users[:3])
        raise BoardError(f"serial port {port} is busy: in use by {who}; close that program and try again")
    return str(path)


class PortLock:
    """An advisory lock on a serial port, so two ``emg`` sessions never share one dongle."""

    def __init__(self, port: str) -> None:
        self.port = port
        key = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.realpath(port).strip("/"))
        base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
        self.path = Path(base) / f"emg-port-{key}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            try:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            except OSError:
                pass
            os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise BoardError(
                f"serial port {self.port} is busy: another emg session{who} is using it; stop that session first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
