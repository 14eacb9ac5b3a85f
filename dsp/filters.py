"""Streaming and batch SOS filtering with per-channel state (Numba kernels, scipy's operation order).

Batch output equals any chunking of the same input bit for bit, and equals ``scipy.signal.sosfilt``
with the same SOS (bit-identical with ``init="zeros"``; with ``init="steady"`` it equals
``sosfilt(sos, x, zi=sosfilt_zi(sos) * x[:, :1])``). Non-finite samples are held at the channel's
last finite value (counted in ``nonfinite_count``), so one NaN never poisons the filter state.
"""

from __future__ import annotations

import numpy as np

from dsp._chain import Chain, as_signal
from dsp.errors import SignalError

INIT_MODES = ("steady", "zeros")


def _check_sos(sos) -> np.ndarray:
    arr = np.asarray(sos, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 6:
        raise SignalError(f"SOS array has shape {arr.shape}; pass second-order sections shaped (sections, 6)")
    if not np.all(np.isfinite(arr)):
        raise SignalError("SOS array contains NaN or infinite coefficients; redesign the filter")
    if arr.shape[0] and not np.allclose(arr[:, 3], 1.0):
        raise SignalError("SOS sections must have a0 == 1; normalise them (scipy.signal designs already are)")
    return np.ascontiguousarray(arr)


def _zi_unit(sos: np.ndarray) -> np.ndarray:
    from scipy.signal import sosfilt_zi

    if sos.shape[0] == 0:
        return np.zeros((0, 2))
    return np.ascontiguousarray(sosfilt_zi(sos), dtype=np.float64)


class SosFilter:
    """Causal streaming SOS filter for ``n_channels``: ``process(chunk (C, n)) -> filtered (C, n)``.

    ``init="steady"`` sets each channel's state, at its first finite sample, to the steady state for
    that sample's value (no start-up step from a DC offset); ``"zeros"`` starts from rest like sosfilt.
    """

    def __init__(self, sos, n_channels: int, *, init: str = "steady") -> None:
        if init not in INIT_MODES:
            raise SignalError(f"filter init {init!r} is unknown; use one of {', '.join(INIT_MODES)}")
        self.sos = _check_sos(sos)
        self.n_channels = int(n_channels)
        self._chain = Chain(self.n_channels, self.sos, _zi_unit(self.sos), init_steady=(init == "steady"))

    def process(self, chunk_uv) -> np.ndarray:
        """Filter the next chunk (C, n); state is kept for the next call."""
        x = as_signal(chunk_uv, self.n_channels, name="chunk")
        return self._chain.run(x, want_filtered=True, want_envelope=False)[0]

    def reset(self) -> None:
        """Forget the filter history."""
        self._chain.reset()

    @property
    def nonfinite_count(self) -> np.ndarray:
        """Non-finite input samples replaced (held) so far, per channel (C,)."""
        return self._chain.nonfinite_count


def sosfilt(x_uv, sos, *, init: str = "zeros") -> np.ndarray:
    """Batch causal SOS filter of ``x_uv`` (C, n) -> (C, n), channels spread over Numba threads."""
    x = as_signal(x_uv)
    flt = SosFilter(sos, x.shape[0], init=init)
    return flt._chain.run(x, want_filtered=True, want_envelope=False, parallel=True)[0]


def sosfiltfilt(x_uv, sos) -> np.ndarray:
    """Zero-phase (forward-backward) SOS filter, as ``scipy.signal.sosfiltfilt`` (odd extension padding)."""
    sos = _check_sos(sos)
    x = as_signal(x_uv)
    n = x.shape[1]
    if n == 0:
        return x.copy()
    n_sec = sos.shape[0]
    padlen = 3 * (2 * n_sec + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
    padlen = min(padlen, n - 1)
    if padlen > 0:
        left = 2 * x[:, :1] - x[:, padlen:0:-1]
        right = 2 * x[:, -1:] - x[:, -2 : -padlen - 2 : -1]
        ext = np.concatenate([left, x, right], axis=1)
    else:
        ext = x
    zi = _zi_unit(sos)
    fwd = Chain(x.shape[0], sos, zi, init_steady=True).run(
        np.ascontiguousarray(ext), want_filtered=True, want_envelope=False, parallel=True
    )[0]
    rev = np.ascontiguousarray(fwd[:, ::-1])
    back = Chain(x.shape[0], sos, zi, init_steady=True).run(
        rev, want_filtered=True, want_envelope=False, parallel=True
    )[0]
    out = back[:, ::-1]
    if padlen > 0:
        out = out[:, padlen:-padlen]
    return np.ascontiguousarray(out)
