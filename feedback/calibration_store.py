"""Calibrations saved per patient and muscle, reusable next session.

Layout: ``ROOT/<patient>/<muscle>.json`` (names made file-safe), the JSON of
:meth:`dsp.calibration.Calibration.to_json` with ``meta`` holding patient, muscle, board and the
creation time. :func:`load_calibration` refuses, in one line, a calibration made on another
board, sampling rate or channel layout.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import tempfile
from pathlib import Path

from dsp.calibration import Calibration
from dsp.errors import SignalError
from feedback.errors import CalibrationMismatchError, FeedbackError


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text).strip()).strip("._")
    if not s:
        raise FeedbackError(f"name {text!r} has no usable characters; "
                            "give a patient or muscle name with letters or digits")
    return s


def calibration_path(root: str | Path, patient: str, muscle: str) -> Path:
    """Where the calibration of ``muscle`` for ``patient`` lives under ``root``."""
    return Path(root) / _slug(patient) / f"{_slug(muscle)}.json"


def save_calibration(calibration: Calibration, root: str | Path, patient: str, muscle: str, *,
                     board: str | None = None) -> Path:
    """Write ``calibration`` (atomically) for ``patient`` and ``muscle``; return the path."""
    path = calibration_path(root, patient, muscle)
    meta = dict(calibration.meta)
    meta.update({"patient": patient, "muscle": muscle})
    if board is not None:
        meta["board"] = board
    meta.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    calibration.meta = meta
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cal-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(calibration.to_json())
        os.replace(tmp, path)
    except OSError as err:
        raise FeedbackError(f"cannot save the calibration to {path} ({err.strerror}); "
                            "choose a folder you may write to") from None
    return path


def load_calibration(path: str | Path, *, channel_names: list[str] | None = None, fs_hz: float | None = None,
                     board: str | None = None) -> Calibration:
    """Read a saved calibration and check it fits this session (board, rate, channel layout)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FeedbackError(f"calibration file {p} not found; calibrate first or give the right file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise FeedbackError(f"cannot read calibration file {p} ({err}); check the path and permissions") from None
    try:
        cal = Calibration.from_json(text)
    except SignalError as err:
        raise FeedbackError(f"calibration file {p}: {err}") from None
    cal_board = cal.meta.get("board")
    if board is not None and cal_board is not None and str(cal_board) != str(board):
        raise CalibrationMismatchError(f"calibration {p} was made on board {cal_board}, this session uses {board}; "
                                       "calibrate again on this board")
    if fs_hz is not None and abs(cal.fs_hz - float(fs_hz)) > 1e-6:
        raise CalibrationMismatchError(f"calibration {p} was made at {cal.fs_hz:g} Hz, this board runs at "
                                       f"{float(fs_hz):g} Hz; calibrate again on this board")
    if channel_names is not None and list(cal.channel_names) != list(channel_names):
        raise CalibrationMismatchError(
            f"calibration {p} has channels {', '.join(cal.channel_names)}, this session "
            f"{', '.join(channel_names)}; calibrate again with this montage")
    return cal


def find_calibration(root: str | Path, patient: str, muscle: str) -> Path | None:
    """The saved calibration for ``patient`` and ``muscle`` under ``root``, or None."""
    path = calibration_path(root, patient, muscle)
    return path if path.is_file() else None
