"""Checks and writes for derived output files (reports, JSON, plots): never over a recording.

``check_output`` is called before any slow work, so a bad ``-o`` fails at once with one line;
``write_output`` writes through a temporary file and turns an OS error into a :class:`ConfigError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from emg.errors import ConfigError

#: Suffixes of files that hold recorded data (or their sidecars): never replaced by a derived output.
RECORDING_SUFFIXES = {".csv", ".json", ".txt", ".edf", ".bdf", ".npz", ".tsv"}


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


#: the largest JSON file read to tell whether it is a sidecar, a calibration or a summary (sidecars hold events)
_MAX_JSON_BYTES = 64 * 1024 * 1024


def _json_object(p: Path) -> dict | None:
    """``p``'s JSON object, or None when it is not one (or too large, or unreadable)."""
    try:
        if not p.is_file() or p.stat().st_size > _MAX_JSON_BYTES:
            return None
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_sidecar(p: Path) -> bool:
    from emg.recordings.writer import FORMAT_NAME

    data = _json_object(p)
    return data is not None and data.get("format") == FORMAT_NAME


def kept_file_kind(path: str | os.PathLike) -> str | None:
    """What ``path`` keeps, when it is a file no output may replace (``--force`` or not): ``"a recording"`` (a
    ``.csv`` with the project's sidecar beside it, or that sidecar), ``"a calibration"`` (JSON with ``rest_floor_uv``
    and ``reference_uv``), ``"a session summary"`` (``*.summary.json``), ``"a simulation truth file"``
    (``*.truth.npz``); else None."""
    p = Path(path)
    if not p.is_file():
        return None
    name = p.name.lower()
    if name.endswith(".truth.npz"):
        return "a simulation truth file"
    if name.endswith(".summary.json"):
        return "a session summary"
    if p.suffix.lower() == ".csv":
        return "a recording" if _is_sidecar(p.with_suffix(".json")) else None
    if p.suffix.lower() == ".json":
        data = _json_object(p)
        if data is None:
            return None
        from emg.recordings.writer import FORMAT_NAME

        if data.get("format") == FORMAT_NAME:
            return "a recording (its sidecar)"
        if "rest_floor_uv" in data and "reference_uv" in data:
            return "a calibration"
    return None


def check_output(
    out: str | os.PathLike,
    *,
    option: str = "-o",
    force: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
    protect_recordings: bool = False,
    example_name: str = "out.html",
) -> Path:
    """ConfigError (one line) unless ``out`` may be written; returns it as a Path.

    Refused: a folder, a missing or non-folder parent, one of ``inputs`` or their ``.json`` sidecars
    (even with ``force``), a recording, calibration, session summary or simulation truth file (even with
    ``force``; see :func:`kept_file_kind`), an existing file unless ``force``; with ``protect_recordings`` (outputs that
    are normally regenerated in place) only existing files with a recording suffix are refused.
    """
    p = Path(out)
    if p.is_dir():
        raise ConfigError(f"{option} {p} is a folder; give a file name, e.g. {option} {p / example_name}")
    parent = p.parent
    if not parent.exists():
        raise ConfigError(f"output folder {parent} does not exist; create it or choose another {option} path")
    if not parent.is_dir():
        raise ConfigError(f"{parent} is a file, not a folder; choose another {option} path")
    for src in inputs:
        s = Path(src)
        for guarded in (s, s.with_suffix(".csv"), s.with_suffix(".json")):
            if _same(p, guarded):
                raise ConfigError(
                    f"{option} {p} would overwrite the input recording {guarded}; "
                    f"choose another {option} path (recordings are never overwritten)"
                )
    kind = kept_file_kind(p)
    if kind is not None:
        raise ConfigError(
            f"{option} {p} is {kind}; choose another {option} path, e.g. {option} {p.parent / example_name} "
            "(recordings are never overwritten, nor calibrations, session summaries or simulation truth files, "
            "not even with --force)"
        )
    if p.exists():
        if protect_recordings:
            if p.suffix.lower() in RECORDING_SUFFIXES and not force:
                raise ConfigError(
                    f"{p} already exists and may be a recording; choose another {option} path "
                    "(recordings are never overwritten)"
                )
        elif not force:
            raise ConfigError(f"{p} already exists; pass --force to replace it or choose another {option} path")
    return p


def write_output(out: str | os.PathLike, data: str | bytes, *, option: str = "-o") -> Path:
    """Write ``data`` to ``out`` through ``out.tmp`` (replaced atomically); ConfigError on an OS error."""
    p = Path(out)
    tmp = p.with_name(p.name + ".tmp")
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
        tmp.replace(p)
    except OSError as err:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise ConfigError(f"cannot write {p} ({err.strerror or err}); choose a writable {option} path") from None
    return p
