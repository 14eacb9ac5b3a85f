"""The sEMG power spectrum model and the boards' decimation-filter responses.

Shape: Shwedyk et al. (1977) / Lindstrom-Magnusson type spectrum of surface EMG,

    P(f) = f_h^4 f^2 / ((f^2 + f_l^2) (f^2 + f_h^2)^2),   f_l = 0.55 s, f_h = 1.2 s (Hz)

(a rise from DC, a broad peak, an f^-4 tail), multiplied by 4th-order Butterworth band edges
(``band_hz``). The frequency scale ``s`` is solved so the median frequency of the band-limited
spectrum equals the configured ``median_hz``; fatigue compresses the spectrum (smaller ``s``),
which is how a falling conduction velocity shows in the EMG (Lindstrom & Magnusson 1977).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_FL = 0.55
_FH = 1.2
#: dense frequency grid for median solving (Hz)
_GRID_HZ = np.linspace(0.0, 3000.0, 6001)


def shape_psd(f_hz: np.ndarray, scale_hz: float, band_hz: tuple[float, float]) -> np.ndarray:
    """Unnormalised EMG power at ``f_hz`` for frequency scale ``scale_hz`` inside ``band_hz``."""
    f = np.asarray(f_hz, dtype=np.float64)
    fl = _FL * scale_hz
    fh = _FH * scale_hz
    p = fh**4 * f**2 / ((f**2 + fl**2) * (f**2 + fh**2) ** 2)
    lo, hi = band_hz
    with np.errstate(divide="ignore", invalid="ignore"):
        hp = 1.0 / (1.0 + (lo / np.maximum(f, 1e-9)) ** 8) if lo > 0 else np.ones_like(f)
    lp = 1.0 / (1.0 + (f / hi) ** 8)
    return p * hp * lp


def median_of(psd: np.ndarray, f_hz: np.ndarray) -> float:
    """Median frequency (Hz) of a power spectrum sampled at ``f_hz``."""
    c = np.concatenate([[0.0], np.cumsum(0.5 * (psd[1:] + psd[:-1]))])  # trapezoid, aligned with f_hz
    if c[-1] <= 0:
        return float("nan")
    return float(np.interp(0.5 * c[-1], c, f_hz))


def _median_curve(band_hz: tuple[float, float], lo: float, hi: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    scales = np.geomspace(lo, hi, n)
    meds = np.array([median_of(shape_psd(_GRID_HZ, s, band_hz), _GRID_HZ) for s in scales])
    return scales, meds


@lru_cache(maxsize=256)
def scale_for_median(median_hz: float, band_hz: tuple[float, float]) -> float:
    """The frequency scale whose band-limited spectrum has median ``median_hz`` (monotonic; solved numerically)."""
    s = float(median_hz)  # the unlimited shape has its median near 1.0 x scale
    for _ in range(30):
        m = median_of(shape_psd(_GRID_HZ, s, band_hz), _GRID_HZ)
        if abs(m - median_hz) < 1e-4 * median_hz:
            break
        s *= median_hz / m
    return s


class SpectrumTable:
    """Amplitude spectra (sqrt of power) of one muscle for a range of median frequencies.

    ``amplitude(idx)`` gives, for FFT bins ``f_hz`` of a block, the normalised amplitude spectrum
    whose inverse FFT has unit variance; ``index_for(median_hz)`` maps a median frequency to the row.
    Medians are quantised to ``step_hz`` (0.25 Hz by default).
    """

    def __init__(
        self,
        f_hz: np.ndarray,
        median_hz: float,
        band_hz: tuple[float, float],
        *,
        min_fraction: float = 0.4,
        step_hz: float = 0.25,
    ) -> None:
        self.f_hz = f_hz
        self.median_hz = float(median_hz)
        self.band_hz = (float(band_hz[0]), float(band_hz[1]))
        self.step_hz = step_hz
        lo = max(2.0, min_fraction * median_hz)
        self.medians = np.arange(lo, median_hz + step_hz, step_hz)
        # the median is monotonic in the scale: tabulate it and invert by interpolation
        s_lo = scale_for_median(float(self.medians[0]), self.band_hz)
        s_hi = scale_for_median(float(median_hz), self.band_hz)
        scales, meds = _median_curve(self.band_hz, 0.97 * s_lo, 1.03 * s_hi, 64)
        self.scales = np.interp(self.medians, meds, scales)
        self._rows: dict[int, np.ndarray] = {}
        self._rows32: dict[int, np.ndarray] = {}
        n_fft = 2 * (len(f_hz) - 1)
        self._norm_n = n_fft

    def index_for(self, median_hz: np.ndarray) -> np.ndarray:
        idx = np.rint((np.asarray(median_hz) - self.medians[0]) / self.step_hz).astype(np.int64)
        return np.clip(idx, 0, len(self.medians) - 1)

    def amplitude(self, idx: int) -> np.ndarray:
        row = self._rows.get(idx)
        if row is None:
            p = shape_psd(self.f_hz, self.scales[idx], self.band_hz)
            p[0] = 0.0
            p[-1] = 0.0
            a = np.sqrt(p)
            # irfft of X with E|X_k|^2 = a_k^2 (k interior) has variance 2 sum a_k^2 / n^2
            a *= self._norm_n / np.sqrt(2.0 * np.sum(a**2))
            row = a
            self._rows[idx] = row
        return row

    def amplitudes(self, idx: np.ndarray) -> np.ndarray:
        """(len(idx), n_bins) amplitude spectra."""
        if len(idx) and np.all(idx == idx[0]):
            return self.amplitude32(int(idx[0]))[None, :]
        uniq, inv = np.unique(idx, return_inverse=True)
        rows = np.stack([self.amplitude32(int(i)) for i in uniq])
        return rows[inv]

    def amplitude32(self, idx: int) -> np.ndarray:
        row = self._rows32.get(idx)
        if row is None:
            row = (self.amplitude(idx) * np.sqrt(0.5)).astype(np.float32)
            self._rows32[idx] = row
        return row


def sinc_response(f_hz: np.ndarray, fs_out_hz: float, order: int = 3) -> np.ndarray:
    """|H(f)| of the ADS1299-style sinc^order decimation filter for output rate ``fs_out_hz``."""
    x = np.asarray(f_hz, dtype=np.float64) / fs_out_hz
    return np.abs(np.sinc(x)) ** order


def board_power_fraction(
    median_hz: float, band_hz: tuple[float, float], fs_out_hz: float | None, order: int = 3
) -> float:
    """Fraction of the EMG power that reaches the output through a sinc^order decimator (aliases included).

    ``fs_out_hz=None`` (no decimation filter, ideal anti-aliasing up to the band edge) gives 1.0.
    """
    if fs_out_hz is None:
        return 1.0
    s = scale_for_median(median_hz, band_hz)
    p = shape_psd(_GRID_HZ, s, band_hz)
    h2 = sinc_response(_GRID_HZ, fs_out_hz, order) ** 2
    return float(np.sum(p * h2) / np.sum(p))
