"""Calibrations saved per patient and muscle, reusable next session.

Layout: ``ROOT/<patient>/<muscle>.json`` (names made file-safe), the JSON of
:meth:`dsp.calibration.Calibration.to_json` with ``meta`` holding patient, muscle, board and the
creation time. :func:`read_calibration` is the one reader of calibration files; :func:`check_calibration_fits`
refuses, in one line, a calibration made on another board, sampling rate, envelope or channel layout.
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
        raise FeedbackError(
            f"name {text!r} has no usable characters; give a patient or muscle name with letters or digits"
        )
    return s


def calibration_path(root: str | Path, patient: str, muscle: str) -> Path:
    """Where the calibration of ``muscle`` for ``patient`` lives under ``root``."""
    return Path(root) / _slug(patient) / f"{_slug(muscle)}.json"


def save_calibration(
    calibration: Calibration, root: str | Path, patient: str, muscle: str, *, board: str | None = None
) -> Path:
    """Write ``calibration`` (atomically) for ``patient`` and ``muscle``; return the path."""
    path = calibration_path(root, patient, muscle)
    meta = dict(calibration.meta)
    meta.update({"patient": patient, "muscle": muscle})
    if board is not None:
        meta["board"] = board
    meta.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    calibration.meta = meta
    return write_calibration(calibration, path)


def write_calibration(calibration: Calibration, path: str | Path) -> Path:
    """Write ``calibration``'s JSON to ``path`` atomically (temporary file, fsync, rename: a crash leaves the old
    file or the new one, never half of one); one-line :class:`FeedbackError` when it cannot be written. The one
    writer of calibration files."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cal-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(calibration.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise FeedbackError(
            f"cannot save the calibration to {path} ({err.strerror}); choose a folder you may write to"
        ) from None
    return path


def read_calibration(path: str | Path) -> Calibration:
    """A :class:`~dsp.calibration.Calibration` from its JSON file; one-line :class:`FeedbackError` when the
    file is missing, a folder, not text, or not a calibration. The one reader of calibration files."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FeedbackError(
            f"calibration file {p} not found; calibrate first or give the file written by a calibration run"
        ) from None
    except IsADirectoryError:
        raise FeedbackError(f"calibration {p} is a folder; give the calibration JSON file inside it") from None
    except OSError as err:
        raise FeedbackError(
            f"cannot read calibration file {p} ({err.strerror}); check the path and permissions"
        ) from None
    except UnicodeDecodeError:
        raise FeedbackError(
            f"calibration file {p} is not a text (JSON) file; give the .json written by a calibration run"
        ) from None
    try:
        return Calibration.from_json(text)
    except SignalError as err:
        raise FeedbackError(f"calibration file {p}: {err}") from None


def check_calibration_fits(
    calibration: Calibration,
    *,
    channel_names: list[str] | None = None,
    fs_hz: float | None = None,
    board: str | None = None,
    envelope: str | None = None,
    source: str = "calibration",
) -> None:
    """:class:`CalibrationMismatchError` (one line) when ``calibration`` was made on another board, sampling
    rate, envelope or channel layout than this session's; checks only what is given."""
    cal_board = (calibration.meta or {}).get("board")
    if board is not None and cal_board is not None and str(cal_board) != str(board):
        raise CalibrationMismatchError(
            f"{source} was made on board {cal_board}, this session uses {board}; calibrate again on this board"
        )
    if fs_hz is not None and abs(calibration.fs_hz - float(fs_hz)) > 1e-6:
        raise CalibrationMismatchError(
            f"{source} was made at {calibration.fs_hz:g} Hz, this board runs at "
            f"{float(fs_hz):g} Hz; calibrate again on this board"
        )
    if channel_names is not None:
        n_cal = len(calibration.reference_uv)
        if n_cal != len(channel_names):
            raise CalibrationMismatchError(
                f"{source} has {n_cal} channels, this session {len(channel_names)}; "
                "calibrate again with this board and montage"
            )
        if calibration.channel_names and list(calibration.channel_names) != list(channel_names):
            raise CalibrationMismatchError(
                f"{source} has channels {', '.join(calibration.channel_names)}, this session "
                f"{', '.join(channel_names)}; calibrate again with this montage (or use the same --muscles)"
            )
    if envelope is not None and calibration.envelope != envelope:
        raise CalibrationMismatchError(
            f"{source} used the {calibration.envelope} envelope, this session the "
            f"{envelope} envelope; run with --envelope {calibration.envelope} or "
            "calibrate again"
        )


def load_calibration(
    path: str | Path, *, channel_names: list[str] | None = None, fs_hz: float | None = None, board: str | None = None
) -> Calibration:
    """Read a saved calibration and check it fits this session (board, rate, channel layout)."""
    cal = read_calibration(path)
    check_calibration_fits(
        cal, channel_names=channel_names, fs_hz=fs_hz, board=board, source=f"calibration {Path(path)}"
    )
    return cal


def find_calibration(root: str | Path, patient: str, muscle: str) -> Path | None:
    """The saved calibration for ``patient`` and ``muscle`` under ``root``, or None."""
    path = calibration_path(root, patient, muscle)
    return path if path.is_file() else None
