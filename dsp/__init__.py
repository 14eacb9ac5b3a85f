"""dsp: the Numba filter-and-envelope core and analysis maths.

Pure arrays in, arrays out (channels x samples, float64, microvolts); no I/O, no Qt,
no dependency on :mod:`emg` or :mod:`feedback`.
"""

from dsp._numba_cache import ensure_numba_cache_dir

ensure_numba_cache_dir()

from dsp.errors import SignalError  # noqa: E402

__all__ = ["SignalError", "ensure_numba_cache_dir"]
