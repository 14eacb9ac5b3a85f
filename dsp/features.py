"""Analysis features: amplitude measures, spectral (fatigue) measures, co-contraction and symmetry.

Amplitude features take (C, n) or (n,) arrays of band-passed EMG in uV and reduce the last axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.errors import SignalError


def _arr(x, name: str = "signal") -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0:
        raise SignalError(f"{name} is empty; pass at least one sample")
    if not np.all(np.isfinite(a)):
        raise SignalError(f"{name} contains NaN/inf; clean or cut the bad stretch before computing features")
    return a


def rms(x_uv, axis: int = -1) -> np.ndarray | float:
    """Root mean square (uV) along ``axis``."""
    a = _arr(x_uv)
    return np.sqrt(np.mean(a * a, axis=axis))


def mav(x_uv, axis: int = -1) -> np.ndarray | float:
    """Mean absolute value (uV) along ``axis``."""
    return np.mean(np.abs(_arr(x_uv)), axis=axis)


def iemg(x_uv, fs_hz: float, axis: int = -1) -> np.ndarray | float:
    """Integrated EMG: sum of |x| / fs (uV*s) along ``axis``."""
    if fs_hz <= 0:
        raise SignalError(f"sampling rate {fs_hz} Hz is not positive; pass fs_hz in Hz")
    return np.sum(np.abs(_arr(x_uv)), axis=axis) / float(fs_hz)


def peak(x_uv, axis: int = -1) -> np.ndarray | float:
    """Peak |x| (uV) along ``axis``."""
    return np.max(np.abs(_arr(x_uv)), axis=axis)


@dataclass
class SpectralTrack:
    """Mean and median frequency over sliding windows: ``times_s`` (W,) window centres,
    ``mean_hz`` (C, W), ``median_hz`` (C, W)."""

    times_s: np.ndarray
    mean_hz: np.ndarray
    median_hz: np.ndarray


def spectral_frequencies(
    x_uv,
    fs_hz: float,
    window_s: float = 1.0,
    step_s: float = 0.5,
    *,
    band_hz: tuple[float, float] | None = None,
) -> SpectralTrack:
    """Mean (MNF) and median (MDF) frequency of ``x_uv`` (C, n) over Hann windows of ``window_s`` every ``step_s``.

    Power is taken within ``band_hz`` (default 20 Hz to min(450, 0.45 fs)); the median is interpolated
    between frequency bins.
    """
    a = _arr(x_uv)
    if a.ndim == 1:
        a = a[None, :]
    fs_hz = float(fs_hz)
    w = int(round(window_s * fs_hz))
    step = int(round(step_s * fs_hz))
    if w < 16 or step < 1:
        raise SignalError(
            f"window {window_s:g} s / step {step_s:g} s too short at {fs_hz:g} Hz; use window_s >= {16 / fs_hz:.3f}"
        )
    n = a.shape[1]
    if n < w:
        raise SignalError(
            f"signal is {n / fs_hz:.2f} s long, shorter than the {window_s:g} s window; use a shorter window_s"
        )
    lo, hi = band_hz if band_hz is not None else (20.0, min(450.0, 0.45 * fs_hz))
    starts = np.arange(0, n - w + 1, step)
    win = np.hanning(w)
    freqs = np.fft.rfftfreq(w, 1.0 / fs_hz)
    sel = (freqs >= lo) & (freqs <= hi)
    f = freqs[sel]
    # (C, W, w) frames via stride tricks, detrended by their mean
    frames = np.lib.stride_tricks.sliding_window_view(a, w, axis=1)[:, starts, :]
    frames = frames - frames.mean(axis=2, keepdims=True)
    p = np.abs(np.fft.rfft(frames * win, axis=2)) ** 2
    p = p[:, :, sel]
    total = p.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_hz = (p * f).sum(axis=2) / total
        cum = np.cumsum(p, axis=2)
        half = 0.5 * total[..., None]
        k = np.argmax(cum >= half, axis=2)
        c_prev = np.take_along_axis(cum, np.maximum(k - 1, 0)[..., None], axis=2)[..., 0]
        c_here = np.take_along_axis(cum, k[..., None], axis=2)[..., 0]
        p_here = c_here - np.where(k > 0, c_prev, 0.0)
        frac = np.where(p_here > 0, (half[..., 0] - np.where(k > 0, c_prev, 0.0)) / p_here, 0.5)
        df = f[1] - f[0] if f.size > 1 else 0.0
        median_hz = f[k] - 0.5 * df + frac * df
    bad = ~(total > 0)
    mean_hz[bad] = np.nan
    median_hz[bad] = np.nan
    times = (starts + w / 2.0) / fs_hz
    return SpectralTrack(times_s=times, mean_hz=mean_hz, median_hz=median_hz)


@dataclass
class FatigueSlope:
    """Least-squares line through a frequency track, per channel (C,): ``slope_hz_per_s``,
    ``intercept_hz`` (at t = first window), ``slope_pct_per_min`` (slope relative to the intercept), ``r2``."""

    slope_hz_per_s: np.ndarray
    intercept_hz: np.ndarray
    slope_pct_per_min: np.ndarray
    r2: np.ndarray


def fatigue_slope(times_s, freq_hz) -> FatigueSlope:
    """Fatigue index: slope of (median or mean) frequency ``freq_hz`` (C, W) or (W,) over ``times_s`` (W,).

    A falling median frequency in a sustained contraction means fatigue (negative slope). NaN windows are skipped.
    """
    t = np.asarray(times_s, dtype=np.float64)
    fr = np.atleast_2d(np.asarray(freq_hz, dtype=np.float64))
    if fr.shape[1] != t.shape[0]:
        raise SignalError(f"{t.shape[0]} times for {fr.shape[1]} frequency windows; pass matching arrays")
    C = fr.shape[0]
    slope = np.full(C, np.nan)
    icpt = np.full(C, np.nan)
    r2 = np.full(C, np.nan)
    for c in range(C):
        ok = np.isfinite(fr[c])
        if ok.sum() < 3:
            continue
        tt = t[ok] - t[ok][0]
        yy = fr[c, ok]
        A = np.vstack([tt, np.ones_like(tt)]).T
        (m, b), *_ = np.linalg.lstsq(A, yy, rcond=None)
        slope[c], icpt[c] = m, b
        ss_tot = float(np.sum((yy - yy.mean()) ** 2))
        r2[c] = 1.0 - float(np.sum((yy - (m * tt + b)) ** 2)) / ss_tot if ss_tot > 0 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = 100.0 * slope * 60.0 / icpt
    return FatigueSlope(slope_hz_per_s=slope, intercept_hz=icpt, slope_pct_per_min=pct, r2=r2)


def cocontraction_index(a, b, axis: int = -1) -> np.ndarray | float:
    """Co-contraction index (%) of two envelopes (or normalised activations) of the same shape:
    ``200 * sum(min(a, b)) / sum(a + b)`` (Falconer & Winter): 0 = no overlap, 100 = equal activity.
    Negative values (noise below a removed floor) count as 0."""
    x = np.maximum(_arr(a, "first envelope"), 0.0)
    y = np.maximum(_arr(b, "second envelope"), 0.0)
    if x.shape != y.shape:
        raise SignalError(f"envelopes differ in shape {x.shape} vs {y.shape}; pass the same time span of both")
    den = np.sum(x + y, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 200.0 * np.sum(np.minimum(x, y), axis=axis) / den


def symmetry_index(left, right) -> np.ndarray | float:
    """Left/right symmetry index (%): ``100 * (L - R) / ((L + R) / 2)``; 0 = symmetric, >0 = left larger.

    ``left``/``right`` are amplitudes (e.g. RMS or peak per rep), scalars or arrays of equal shape."""
    L = _arr(left, "left amplitude")
    R = _arr(right, "right amplitude")
    if L.shape != R.shape:
        raise SignalError(f"left and right differ in shape {L.shape} vs {R.shape}; pass matching amplitudes")
    with np.errstate(invalid="ignore", divide="ignore"):
        si = 100.0 * (L - R) / (0.5 * (L + R))
    return float(si) if si.ndim == 0 else si
