"""Checks and writes for derived output files (reports, JSON, plots): never over a recording.

``check_output`` is called before any slow work, so a bad ``-o`` fails at once with one line;
``write_output`` writes through a temporary file and turns an OS error into a :class:`ConfigError`.
"""

from __future__ import annotations

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
    (even with ``force``), an existing file unless ``force``; with ``protect_recordings`` (outputs that
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
