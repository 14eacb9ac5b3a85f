"""Filter design from the sampling rate: EMG band-pass plus mains notches (and their aliases), as SOS.

Designs come from :mod:`scipy.signal` (``butter``, ``iirnotch``) and are returned as second-order
sections, float64, ``(sections, 6)``; the Numba kernels in :mod:`dsp.filters` run them.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from dsp.errors import SignalError

log = logging.getLogger(__name__)

#: Default EMG band (SENIAM/ISEK) where the sampling rate allows it.
DEFAULT_BAND_HZ = (20.0, 450.0)
#: High-pass corner for muscles near the heart (ECG rejection).
NEAR_HEART_LOW_HZ = 30.0
#: Notch -3 dB width in Hz (mains drifts by a fraction of a hertz; 2 Hz settles in about 0.2 s).
NOTCH_WIDTH_HZ = 2.0
#: Below this rate the ADC's own decimation filter folds EMG and mains harmonics into the band
#: (ADS1299 sinc^3 at 250 Hz), so the upper corner is held near 100 Hz.
_LOW_RATE_HZ = 500.0


@dataclass(frozen=True)
class FilterDesign:
    """A band-pass + notch cascade for one sampling rate.

    ``sos``: (sections, 6) float64 (band-pass sections first, then one per notch);
    ``zi_unit``: (sections, 2) steady-state filter state for a unit step (``sosfilt_zi``).
    """

    sos: np.ndarray
    fs_hz: float
    band_hz: tuple[float, float]
    notch_hz: list[float]
    order: int = 4
    mains_hz: float | None = 50.0
    near_heart: bool = False
    zi_unit: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]

    def describe(self) -> str:
        """One line for logs, reports and sidecars, e.g. ``band-pass 20-100 Hz (Butterworth 4), notches 60, 70 Hz``."""
        lo, hi = self.band_hz
        text = f"band-pass {_fmt(lo)}-{_fmt(hi)} Hz (Butterworth {self.order})"
        if self.notch_hz:
            text += ", notches " + ", ".join(_fmt(f) for f in self.notch_hz) + " Hz"
        else:
            text += ", no notches"
        return text

    def to_dict(self) -> dict:
        """Plain-JSON description (for recording sidecars: ``filters``)."""
        return {
            "fs_hz": self.fs_hz,
            "band_hz": list(self.band_hz),
            "order": self.order,
            "type": "butterworth band-pass + iirnotch",
            "notch_hz": list(self.notch_hz),
            "notch_width_hz": NOTCH_WIDTH_HZ,
            "mains_hz": self.mains_hz,
            "near_heart": self.near_heart,
            "description": self.describe(),
        }


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value - round(value)) > 1e-9 else str(int(round(value)))


def default_band(fs_hz: float, *, near_heart: bool = False) -> tuple[float, float]:
    """The EMG band for a sampling rate: 20-450 Hz where possible, about 20-100 Hz at 250 Hz, 20-90 Hz at 200 Hz."""
    lo = NEAR_HEART_LOW_HZ if near_heart else DEFAULT_BAND_HZ[0]
    if fs_hz < _LOW_RATE_HZ:
        hi = min(100.0, 0.45 * fs_hz)
    else:
        hi = min(DEFAULT_BAND_HZ[1], 0.45 * fs_hz)
    return (lo, hi)


def mains_aliases(fs_hz: float, mains_hz: float, band_hz: tuple[float, float]) -> list[float]:
    """Mains frequency, harmonics and harmonic aliases inside the band.

    Below 500 Hz sampling (OpenBCI-class sigma-delta ADCs, whose decimation filter lets harmonics up to
    ``fs_hz`` through partly) harmonics below ``fs_hz`` are folded about Nyquist; at higher rates the
    amplifier's anti-alias filter is trusted and only harmonics below Nyquist are notched.
    """
    nyq = fs_hz / 2.0
    found: list[float] = []
    limit = fs_hz if fs_hz < _LOW_RATE_HZ else nyq
    k = 1
    while k * mains_hz < limit:
        f = math.fmod(k * mains_hz, fs_hz)
        if f > nyq:
            f = fs_hz - f
        lo, hi = band_hz
        if lo - 1e-9 <= f <= hi + 1e-9 and f < nyq - NOTCH_WIDTH_HZ and not any(abs(f - g) < 1e-6 for g in found):
            found.append(f)
        k += 1
    return sorted(found)


def design_filters(
    fs_hz: float,
    *,
    band_hz: tuple[float, float] | None = None,
    mains_hz: float | None = 50,
    near_heart: bool = False,
    order: int = 4,
) -> FilterDesign:
    """Design the EMG band-pass (Butterworth ``order``, as ``scipy.signal.butter(order, band)``) and mains notches.

    ``band_hz=None`` picks :func:`default_band`; ``mains_hz`` 50 or 60 (``None``: no notches);
    ``near_heart`` raises the high-pass corner to 30 Hz. Raises :class:`SignalError` when the rate
    cannot carry the band. Designs are cached; each call returns its own copies of the arrays.
    """
    try:
        key = (
            float(fs_hz),
            None if band_hz is None else (float(band_hz[0]), float(band_hz[1])),
            None if mains_hz is None else float(mains_hz),
            bool(near_heart),
            order,
        )
        hash(key)
    except (TypeError, ValueError, IndexError):
        return _design(fs_hz, band_hz=band_hz, mains_hz=mains_hz, near_heart=near_heart, order=order)
    d = _design_cached(*key)
    return dataclasses.replace(d, sos=d.sos.copy(), zi_unit=d.zi_unit.copy(), notch_hz=list(d.notch_hz))


@functools.lru_cache(maxsize=64)
def _design_cached(fs_hz, band_hz, mains_hz, near_heart, order) -> FilterDesign:
    return _design(fs_hz, band_hz=band_hz, mains_hz=mains_hz, near_heart=near_heart, order=order)


def _design(fs_hz, *, band_hz, mains_hz, near_heart, order) -> FilterDesign:
    try:
        fs_hz = float(fs_hz)
    except (TypeError, ValueError):
        raise SignalError(f"sampling rate {fs_hz!r} is not a number; pass fs_hz in Hz, e.g. 250") from None
    if not math.isfinite(fs_hz) or fs_hz <= 0:
        raise SignalError(f"sampling rate {fs_hz} Hz is not positive; pass fs_hz in Hz, e.g. 250")
    if not isinstance(order, (int, np.integer)) or not 1 <= order <= 8:
        raise SignalError(f"filter order {order!r} is out of range; use an integer from 1 to 8 (default 4)")
    if mains_hz is not None and (not math.isfinite(float(mains_hz)) or float(mains_hz) <= 0):
        raise SignalError(f"mains frequency {mains_hz!r} is not valid; use 50, 60 or None")
    nyq = fs_hz / 2.0
    if band_hz is None:
        band = default_band(fs_hz, near_heart=near_heart)
    else:
        try:
            band = (float(band_hz[0]), float(band_hz[1]))
        except (TypeError, ValueError, IndexError):
            raise SignalError(
                f"band {band_hz!r} is not a (low, high) pair in Hz; pass e.g. band_hz=(20, 450)"
            ) from None
        if near_heart and band[0] < NEAR_HEART_LOW_HZ:
            band = (NEAR_HEART_LOW_HZ, band[1])
        if not (0 < band[0] < band[1]):
            raise SignalError(
                f"band {band[0]:g}-{band[1]:g} Hz is not a low < high pair of positive frequencies; "
                "pass e.g. band_hz=(20, 450)"
            )
        if band[1] >= nyq:
            raise SignalError(
                f"band upper edge {band[1]:g} Hz is at or above Nyquist ({nyq:g} Hz at {fs_hz:g} Hz sampling); "
                f"lower it below {0.45 * fs_hz:g} Hz or record at a higher rate"
            )
    lo, hi = band
    if hi < 1.5 * lo:
        raise SignalError(
            f"sampling rate {fs_hz:g} Hz is too low for an EMG band from {lo:g} Hz (upper edge {hi:g} Hz); "
            f"record at 250 Hz or more"
        )
    bp = signal.butter(int(order), [lo, hi], btype="bandpass", output="sos", fs=fs_hz)
    notches: list[float] = []
    parts = [bp]
    if mains_hz is not None:
        notches = mains_aliases(fs_hz, float(mains_hz), band)
        for f in notches:
            b, a = signal.iirnotch(f, Q=f / NOTCH_WIDTH_HZ, fs=fs_hz)
            parts.append(signal.tf2sos(b, a))
    sos = np.ascontiguousarray(np.vstack(parts), dtype=np.float64)
    zi = np.ascontiguousarray(signal.sosfilt_zi(sos), dtype=np.float64)

    design = FilterDesign(
        sos=sos,
        fs_hz=fs_hz,
        band_hz=(lo, hi),
        notch_hz=notches,
        order=int(order),
        mains_hz=None if mains_hz is None else float(mains_hz),
        near_heart=near_heart,
        zi_unit=zi,
    )
    log.debug("designed %s at %g Hz (%d sections)", design.describe(), fs_hz, sos.shape[0])
    return design


def lowpass_sos(cutoff_hz: float, fs_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth low-pass as SOS (envelope smoothing); raises :class:`SignalError` if ``cutoff_hz`` >= Nyquist."""
    if not 0 < cutoff_hz < fs_hz / 2:
        raise SignalError(
            f"envelope cut-off {cutoff_hz:g} Hz must be between 0 and Nyquist ({fs_hz / 2:g} Hz); pick e.g. 6 Hz"
        )
    return np.ascontiguousarray(
        signal.butter(order, cutoff_hz, btype="lowpass", output="sos", fs=fs_hz), dtype=np.float64
    )
