"""Make sure Numba's on-disk cache (``cache=True``) has a writable directory.

Numba caches next to the source (``__pycache__``). Where that is not writable
(a system-wide install) and ``NUMBA_CACHE_DIR`` is unset, point it at the user's
cache directory, or a temporary one, before Numba is imported.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
        return True
    except OSError:
        return False


def ensure_numba_cache_dir() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` if the package's own ``__pycache__`` is not writable; return it."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    if _writable(Path(__file__).resolve().parent / "__pycache__"):
        return None
    xdg = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    for candidate in (xdg / "emg-biofeedback" / "numba", Path(tempfile.gettempdir()) / "emg-numba-cache"):
        if _writable(candidate):
            os.environ["NUMBA_CACHE_DIR"] = str(candidate)
            return str(candidate)
    return None
