"""The file's edges and the notches' ringing: what keeps filter transients out of the activations.

``edge_pad`` extends a recording past both ends (mains lines at their measured frequency, DC and
drift continued) so zero-phase filters settle before the real data; ``unpad_activations`` maps
activations back. (The notches' ringing around strong onsets/offsets is handled inside
dsp.detection, which places each edge with a causal / anti-causal chain.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dsp.detection import Activation

#: An activation cut by the file's start or end must keep at least this much inside the file.
EDGE_MIN_S = 0.1


def edge_pad(
    x: np.ndarray, fs: float, lines_hz: Sequence[float], pad_s: float = 1.0, fit_s: float = 2.0
) -> tuple[np.ndarray, int]:
    """Extend (C, n) by ``pad_s`` at both ends; returns (extended, pad samples).

    Each end's first/last ``fit_s`` is fitted (least squares) with DC, a linear drift and a sinusoid at
    every mains line in ``lines_hz``; the pad is that model continued outside the file plus the
    odd-reflected residual. Zero-phase filters started on the pad settle before the real data, so
    strong mains or a DC step at the edges cannot produce a start-up transient inside the file.
    """
    n = x.shape[1]
    p = min(int(round(pad_s * fs)), n - 1)
    m = min(int(round(fit_s * fs)), n)
    if p < 1:
        return x, 0

    def model(t: np.ndarray, freqs: Sequence[float]) -> np.ndarray:
        cols = [np.ones_like(t), t]
        for f in freqs:
            cols += [np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)]
        return np.stack(cols, axis=1)

    t_left = np.arange(m) / fs
    f_left = _refine_lines(x[:, :m], t_left, lines_hz)
    coef_l, *_ = np.linalg.lstsq(model(t_left, f_left), x[:, :m].T, rcond=None)
    res_l = x[:, :m] - (model(t_left, f_left) @ coef_l).T
    left = (model(-np.arange(p, 0, -1) / fs, f_left) @ coef_l).T + (2 * res_l[:, :1] - res_l[:, p:0:-1])
    t_right = np.arange(-m + 1, 1) / fs
    f_right = _refine_lines(x[:, -m:], t_right, lines_hz)
    coef_r, *_ = np.linalg.lstsq(model(t_right, f_right), x[:, -m:].T, rcond=None)
    res_r = x[:, -m:] - (model(t_right, f_right) @ coef_r).T
    right = (model(np.arange(1, p + 1) / fs, f_right) @ coef_r).T + (2 * res_r[:, -1:] - res_r[:, -2 : -p - 2 : -1])
    return np.ascontiguousarray(np.concatenate([left, x, right], axis=1)), p


def edge_lines(fs: float, mains_hz: float | None, harmonics: int = 6) -> list[float]:
    """Mains and its first harmonics as they appear at this rate (folded about Nyquist), for edge_pad."""
    if not mains_hz:
        return []
    out: list[float] = []
    for k in range(1, harmonics + 1):
        f = (k * mains_hz) % fs
        f = fs - f if f > fs / 2 else f
        if 1.0 < f < fs / 2 - 1.0 and all(abs(f - g) > 1.0 for g in out):
            out.append(float(f))
    return sorted(out)


def _refine_lines(
    x: np.ndarray, t: np.ndarray, lines_hz: Sequence[float], span_hz: float = 0.3, step_hz: float = 0.005
) -> list[float]:
    """Each mains line's actual frequency near its nominal one (the grid drifts by a few 0.01 Hz):
    the peak of the Hann-windowed power summed over channels, on a fine grid within +-``span_hz``."""
    if not lines_hz:
        return []
    xc = (x - x.mean(axis=1, keepdims=True)) * np.hanning(t.size)
    deltas = np.arange(-span_hz, span_hz + step_hz / 2, step_hz)
    out = []
    for f in lines_hz:
        basis = np.exp(-2j * np.pi * np.outer(f + deltas, t))  # (D, m)
        power = (np.abs(xc @ basis.T) ** 2).sum(axis=0)  # (D,)
        out.append(float(f + deltas[int(np.argmax(power))]))
    return out


def unpad_activations(acts: list[Activation], pad_s: float, dur_s: float) -> list[Activation]:
    """Shift activations found on an edge-padded signal back; drop those wholly in the pads, clip the rest."""
    out = []
    for a in acts:
        on, off = a.onset_s - pad_s, a.offset_s - pad_s
        if off <= 0 or on >= dur_s:
            continue
        clipped_on, clipped_off = max(0.0, on), min(dur_s, off)
        if (clipped_on, clipped_off) != (on, off) and clipped_off - clipped_on < EDGE_MIN_S:
            continue  # a sliver at the file's edge, mostly in the pad: not a contraction we can report
        out.append(Activation(clipped_on, clipped_off, a.peak_uv, a.mean_uv))
    return out
