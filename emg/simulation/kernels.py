"""Per-sample loops of the simulator, in Numba (``cache=True``)."""

from __future__ import annotations

import numpy as np

from dsp import ensure_numba_cache_dir

ensure_numba_cache_dir()
from numba import njit  # noqa: E402


@njit(cache=True)
def combine_emg(src, a, fat, q, ref_uv, amp_rate, mix_rows, mix_cols, mix_vals, out):  # pragma: no cover - compiled
    """out (C, n) += crosstalk mix of the muscles' EMG.

    Muscle m's EMG at generation sample i is ``src[m, i] * ref_uv[m] * a[m, i // q] * (1 + amp_rate * fat[m, i // q])``
    (``src`` unit-variance float32 (M, n); ``a``/``fat`` (M, n // q) at the drive rate); channel
    ``mix_rows[k]`` gets ``mix_vals[k]`` x muscle ``mix_cols[k]``.
    """
    n_m, n = src.shape
    nnz = mix_rows.shape[0]
    for m in range(n_m):
        r = ref_uv[m]
        for i in range(n):
            j = i // q
            e = src[m, i] * r * a[m, j] * (1.0 + amp_rate * fat[m, j])
            for k in range(nnz):
                if mix_cols[k] == m:
                    out[mix_rows[k], i] += mix_vals[k] * e


@njit(cache=True)
def add_scaled_noise(out, noise, scale):  # pragma: no cover - compiled
    """out (C, n) += noise (C, n) * scale (C,)."""
    c, n = out.shape
    for ch in range(c):
        s = scale[ch]
        for i in range(n):
            out[ch, i] += noise[ch, i] * s


@njit(cache=True)
def one_pole(x, gain, alpha, state, out):  # pragma: no cover - compiled
    """Per row: out[i] = gain * x[i] + alpha * out[i-1]; ``state`` (C,) holds the last output, updated."""
    c, n = x.shape
    for ch in range(c):
        y = state[ch]
        for i in range(n):
            y = gain * x[ch, i] + alpha * y
            out[ch, i] = y
        state[ch] = y


def one_pole_filter(x: np.ndarray, alpha: float, state: np.ndarray) -> np.ndarray:
    """One-pole low-pass (unit DC gain) of rows of ``x`` (C, n), continuing from ``state`` (C,)."""
    out = np.empty(x.shape)
    one_pole(np.ascontiguousarray(x, dtype=np.float64), 1.0 - alpha, alpha, state, out)
    return out


def warm_up() -> None:
    """Compile (or load from the on-disk cache) the kernels, so the first live read is not slow."""
    src = np.zeros((1, 4), dtype=np.float32)
    a = np.zeros((1, 4))
    combine_emg(
        src, a, a, 1, np.ones(1), 0.0, np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1), np.zeros((1, 4))
    )
    add_scaled_noise(np.zeros((1, 4)), np.zeros((1, 4), dtype=np.float32), np.ones(1))
    one_pole_filter(np.zeros((1, 4)), 0.5, np.zeros(1))
