"""The offline analysis' view of :mod:`dsp` (docs/ARCHITECTURE.md), in one place.

Analysis code calls only these functions. Each uses the dsp implementation when it can be imported;
filtering, spectra and the cross-channel indices fall back to small scipy/numpy versions (logged)
so a partly installed signal core still gives an analysis; activation detection has no stand-in
(it belongs to dsp). ``implementation()`` says which was used, and the report prints it.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal as sps

log = logging.getLogger(__name__)

_used: dict[str, str] = {}


def _dsp(module: str, name: str) -> Any | None:
    try:
        mod = importlib.import_module(f"dsp.{module}")
    except ImportError:
        mod = None
    fn = getattr(mod, name, None) if mod is not None else None
    key = f"dsp.{module}.{name}"
    if fn is None:
        if _used.get(key) != "fallback":
            log.info("%s not available yet; using the analysis module's stand-in", key)
        _used[key] = "fallback"
    else:
        _used[key] = "dsp"
    return fn


#: The dsp functions the analysis uses (docs/ARCHITECTURE.md).
USED = (("design", "design_filters"), ("pipeline", "emg_process"), ("detection", "detect_activations"),
        ("quality", "QualityMonitor"), ("features", "spectral_frequencies"), ("features", "cocontraction_index"),
        ("features", "symmetry_index"))


def implementation() -> dict[str, str]:
    """For each dsp function the analysis uses: ``"dsp"`` or ``"fallback"`` (the stand-in), for the report.

    Depends only on what can be imported now, not on what this process happened to call before."""
    return {f"dsp.{m}.{n}": ("dsp" if _dsp(m, n) is not None else "fallback") for m, n in USED}


# --------------------------------------------------------------------------- filters and envelope


@dataclass
class ProcessResult:
    filtered_uv: np.ndarray  # (C, n)
    envelope_uv: np.ndarray  # (C, n)
    description: str
    band_hz: tuple[float, float]
    notch_hz: list[float]
    from_dsp: bool = False  # filtered_uv is dsp's emg_clean (the detector may reuse it as prefiltered)


def default_band_hz(fs_hz: float, near_heart: bool = False) -> tuple[float, float]:
    lo = 30.0 if near_heart else 20.0
    hi = min(450.0, 0.4 * fs_hz)
    return lo, hi


def mains_notches_hz(fs_hz: float, mains_hz: float | None, band_hz: tuple[float, float]) -> list[float]:
    """Mains and every harmonic or harmonic alias that falls inside the band."""
    if not mains_hz:
        return []
    nyq = fs_hz / 2.0
    out: list[float] = []
    k = 1
    while k * mains_hz < fs_hz:
        f = (k * mains_hz) % fs_hz
        f = fs_hz - f if f > nyq else f
        if band_hz[0] - 2 <= f <= band_hz[1] + 2 and f < nyq - 1 and all(abs(f - g) > 1.0 for g in out):
            out.append(round(float(f), 6))
        k += 1
    return sorted(out)


def emg_process(x_uv: np.ndarray, fs_hz: float, *, mains_hz: float | None, near_heart: bool,
                zero_phase: bool, envelope: str = "adaptive") -> ProcessResult:
    """Band-pass + notches, then the amplitude envelope, zero-phase or causal."""
    proc = _dsp("pipeline", "emg_process")
    design_fn = _dsp("design", "design_filters")
    if proc is not None and design_fn is not None:
        design = design_fn(fs_hz, mains_hz=mains_hz, near_heart=near_heart)
        filtered, env = proc(x_uv, fs_hz, mains_hz=mains_hz, near_heart=near_heart, envelope=envelope,
                             zero_phase=zero_phase)
        return ProcessResult(np.asarray(filtered, dtype=np.float64), np.asarray(env, dtype=np.float64),
                             design.describe(), tuple(design.band_hz), list(design.notch_hz), from_dsp=True)
    band = default_band_hz(fs_hz, near_heart)
    notches = mains_notches_hz(fs_hz, mains_hz, band)
    sos = [sps.butter(4, band, btype="bandpass", fs=fs_hz, output="sos")]
    for f0 in notches:
        b, a = sps.iirnotch(f0, 30.0, fs=fs_hz)
        sos.append(sps.tf2sos(b, a))
    sos_all = np.vstack(sos)
    env_sos = sps.butter(2, 6.0, fs=fs_hz, output="sos")
    if zero_phase:
        filtered = sps.sosfiltfilt(sos_all, x_uv, axis=-1)
        env = sps.sosfiltfilt(env_sos, np.abs(filtered), axis=-1)
    else:
        filtered = sps.sosfilt(sos_all, x_uv - x_uv[:, :1], axis=-1)
        env = sps.sosfilt(env_sos, np.abs(filtered), axis=-1)
    env = np.maximum(env, 0.0) * np.sqrt(np.pi / 2.0)  # mean |x| of Gaussian EMG -> its RMS
    desc = f"band-pass {band[0]:g}-{band[1]:g} Hz (Butterworth 4)" + (
        ", notches " + ", ".join(f"{f:g}" for f in notches) + " Hz" if notches else "") + " [analysis stand-in]"
    return ProcessResult(filtered, env, desc, band, notches)


def notch_frequencies(fs_hz: float, mains_hz: float | None, near_heart: bool) -> list[float]:
    """The mains lines (and aliases) the filter design notches at this rate."""
    design_fn = _dsp("design", "design_filters")
    if design_fn is not None:
        return [float(f) for f in design_fn(fs_hz, mains_hz=mains_hz, near_heart=near_heart).notch_hz]
    return mains_notches_hz(fs_hz, mains_hz, default_band_hz(fs_hz, near_heart))


# --------------------------------------------------------------------------- detection


@dataclass
class Activation:
    onset_s: float
    offset_s: float
    peak_uv: float
    mean_uv: float


def detect_activations(x_uv: np.ndarray, fs_hz: float, *, mains_hz: float | None, near_heart: bool,
                       zero_phase: bool, rest: np.ndarray | None = None, prefiltered: bool = False
                       ) -> list[list[Activation]]:
    """Per channel, the activations in ``x_uv`` ((C, n) raw, or band-passed and notched if ``prefiltered``).

    Uses dsp.detection when present."""
    det = _dsp("detection", "detect_activations")
    if det is not None:
        kwargs: dict[str, Any] = {}
        import inspect

        params = inspect.signature(det).parameters
        for key, val in (("mains_hz", mains_hz), ("near_heart", near_heart), ("zero_phase", zero_phase)):
            if key in params:
                kwargs[key] = val
        if prefiltered and "prefiltered" in params:
            kwargs["prefiltered"] = True
        if rest is not None and "rest" in params:
            kwargs["rest"] = rest
        out = det(x_uv, fs_hz, **kwargs)
        return [[Activation(float(a.onset_s), float(a.offset_s), float(a.peak_uv), float(a.mean_uv)) for a in ch]
                for ch in out]
    # detection belongs to dsp: no second detector here
    from dsp.errors import SignalError

    raise SignalError("dsp.detection.detect_activations is not available; update or reinstall the package")


# --------------------------------------------------------------------------- quality and features


#: dsp.quality flag bits (docs/ARCHITECTURE.md), used when dsp.quality is missing
_FLAG_BITS = {"railed": 1, "flat": 2, "nan": 4, "spike": 8, "lead_off": 16, "dropped": 32}


def quality_flags(x_uv: np.ndarray, fs_hz: float, *, rail_uv: float | None) -> dict[str, np.ndarray] | None:
    """Per-sample artefact flags from dsp.quality.QualityMonitor, summarised per channel.

    Returns ``{"spike_count", "lead_off_fraction", "flagged_fraction"}`` arrays (C,), or None when
    dsp.quality is missing."""
    mon_cls = _dsp("quality", "QualityMonitor")
    if mon_cls is None:
        return None
    mon = mon_cls(fs_hz, x_uv.shape[0], rail_uv) if rail_uv else mon_cls(fs_hz, x_uv.shape[0])
    flags = mon.update(x_uv)
    spike = (flags & _FLAG_BITS["spike"]) > 0
    starts = spike[:, 1:] & ~spike[:, :-1]
    return {"spike_count": starts.sum(axis=1) + spike[:, 0],
            "lead_off_fraction": ((flags & _FLAG_BITS["lead_off"]) > 0).mean(axis=1),
            "flagged_fraction": (flags > 0).mean(axis=1)}


def spectral_frequencies(x_uv: np.ndarray, fs_hz: float, window_s: float, step_s: float
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times_s, mean_hz, median_hz) for one channel (1-D) over sliding windows."""
    fn = _dsp("features", "spectral_frequencies")
    x = np.atleast_2d(x_uv)
    if fn is not None:
        if x.shape[-1] < int(round(window_s * fs_hz)):
            return np.empty(0), np.empty(0), np.empty(0)
        res = fn(x, fs_hz, window_s=window_s, step_s=step_s)
        if hasattr(res, "median_hz"):
            return (np.asarray(res.times_s), np.atleast_2d(res.mean_hz)[0], np.atleast_2d(res.median_hz)[0])
        if isinstance(res, dict):
            t = np.asarray(res.get("times_s", res.get("t_s")))
            mnf = np.asarray(res.get("mean_hz", res.get("mnf_hz")))
            mdf = np.asarray(res.get("median_hz", res.get("mdf_hz")))
        else:
            t, mnf, mdf = (np.asarray(v) for v in res)
        return t, np.atleast_2d(mnf)[0], np.atleast_2d(mdf)[0]
    n_win = int(round(window_s * fs_hz))
    n_step = max(1, int(round(step_s * fs_hz)))
    row = x[0]
    starts = np.arange(0, row.size - n_win + 1, n_step)
    if starts.size == 0:
        return np.empty(0), np.empty(0), np.empty(0)
    frames = np.lib.stride_tricks.sliding_window_view(row, n_win)[starts] * np.hanning(n_win)
    psd = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_win, 1.0 / fs_hz)
    tot = psd.sum(axis=1)
    tot[tot == 0] = np.nan
    mnf = (psd * freqs).sum(axis=1) / tot
    cum = np.cumsum(psd, axis=1)
    mdf = freqs[np.argmax(cum >= 0.5 * cum[:, -1:], axis=1)]
    return (starts + n_win / 2) / fs_hz, mnf, mdf


def median_frequency_tracks(x_uv: np.ndarray, fs_hz: float, window_s: float, step_s: float
                            ) -> tuple[np.ndarray, np.ndarray]:
    """(window centres s (m,), median frequency Hz (C, m)) for all channels at once."""
    fn = _dsp("features", "spectral_frequencies")
    if x_uv.shape[-1] < int(round(window_s * fs_hz)):
        return np.empty(0), np.empty((x_uv.shape[0], 0))
    if fn is not None:
        res = fn(x_uv, fs_hz, window_s=window_s, step_s=step_s)
        if hasattr(res, "median_hz"):
            return np.asarray(res.times_s), np.atleast_2d(res.median_hz)
    rows = [spectral_frequencies(x_uv[c], fs_hz, window_s, step_s) for c in range(x_uv.shape[0])]
    return rows[0][0], np.vstack([r[2] for r in rows])


def cocontraction_index(a_env: np.ndarray, b_env: np.ndarray) -> float:
    fn = _dsp("features", "cocontraction_index")
    if fn is not None:
        return float(fn(a_env, b_env))
    lo = np.minimum(a_env, b_env).sum()
    hi = np.maximum(a_env, b_env).sum()
    return float(200.0 * lo / (a_env.sum() + b_env.sum())) if hi > 0 else 0.0


def symmetry_index(left: np.ndarray | float, right: np.ndarray | float) -> float:
    fn = _dsp("features", "symmetry_index")
    if fn is not None:
        return float(fn(left, right))
    lv, rv = float(np.mean(left)), float(np.mean(right))
    return float(100.0 * (lv - rv) / (0.5 * (lv + rv))) if lv + rv > 0 else 0.0
