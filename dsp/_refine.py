"""Edge refinement for offline detection: onsets from a causal chain, offsets from an anti-causal one.

A zero-phase (forward-backward) band-pass and, above all, the 2 Hz wide mains notches ring before a strong
onset and after a strong offset (the notch's ringing decays with a time constant of about 1/(pi * 2 Hz) =
160 ms), so a threshold anchored at the rest SD crosses that ringing 50-500 ms away from the event once the
contraction is 10x rest or more. A causal filter cannot respond before its input changes: run forward
only, the chain's response to an onset starts at the onset; run on the time-reversed signal (anti-causal),
its response to an offset ends at the offset. Each burst found on the zero-phase envelope is refined:

- onset: on the causal chain (band-pass + notches forward only -> TKEO), the first sustained rise of its
  smoothed power above ``(mu + k_high sd)^2`` inside the burst marks the contraction; the onset is the
  maximum-likelihood change point (Page-Hinkley, exponential model) of the raw TKEO from the rest mean to
  the contraction's mean (the middle half of the burst), searched between the previous burst's end (or
  ``LOOKBACK_S`` before the zero-phase start) and that rise, minus the chain's energy delay;
- offset: the same on the time-reversed signal (anti-causal chain).

The change point needs no threshold and no smoothing delay, so its error does not grow with the burst's
strength (10-100x rest: 0-4 ms on generated bursts). For weak bursts (a few times rest) the zero-phase
filters' ringing stays inside the rest band and the zero-phase edge, which sees the whole rise, is better
(the change point of a step model sits part-way up a ramp): :func:`ringing_weight` blends from the
zero-phase edge (weak) to the causal one (strong) by the burst's TKEO power ratio.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dsp.design import lowpass_sos

#: low-pass of the causal TKEO power that finds the rise (its delay does not enter the edge), Hz
CAUSAL_CUTOFF_HZ = 25.0
#: for a burst under 5 samples past its rise, its level is read over this long after the rise, s
PLATEAU_S = 0.1
#: the change point is searched from this long before the zero-phase start (which is never late by more)
LOOKBACK_S = 0.1
#: TKEO power ratio (burst / rest) below which the zero-phase edge is kept, and above which the causal one
#: replaces it (log-linear blend between). Generated bursts, median onset error: zero-phase -2..-8 ms at 3-5x
#: rest amplitude, -12 ms at 7x, -20..-67 ms at 10x; causal +8..+12 ms throughout (it sits mid-ramp on the
#: 20 ms ramps); the blend -6..+8 ms at every strength. (TKEO weighs high frequencies, so the ratio is below
#: the amplitude ratio squared when the rest noise is broadband.)
WEAK_RATIO = 15.0
STRONG_RATIO = 50.0


@njit(cache=True)
def _tkeo_causal(y, out):
    """out[c, n] = |y[n-1]^2 - y[n] y[n-2]| (one-sample delay; first two samples copy the third)."""
    n_ch, n = y.shape
    for c in range(n_ch):
        for i in range(2, n):
            v = y[c, i - 1] * y[c, i - 1] - y[c, i] * y[c, i - 2]
            out[c, i] = v if v >= 0.0 else -v
        if n > 2:
            out[c, 0] = out[c, 2]
            out[c, 1] = out[c, 2]
        else:
            for i in range(n):
                out[c, i] = 0.0


def causal_power(y: np.ndarray, fs_hz: float, cutoff_hz: float = CAUSAL_CUTOFF_HZ):
    """(smoothed, raw) causal TKEO power (C, n) of a causally filtered signal (uV^2-like)."""
    from dsp.filters import sosfilt

    psi = np.empty_like(y)
    _tkeo_causal(y, psi)
    return np.maximum(sosfilt(psi, lowpass_sos(cutoff_hz, fs_hz, order=2), init="steady"), 0.0), psi


def chain_delay_s(sos: np.ndarray, fs_hz: float) -> float:
    """Energy delay of the causal band-pass/notch chain: when its impulse response has delivered half of the
    energy of its first 50 ms (the main lobe; the notches' long low-level tails are ignored)."""
    from scipy.signal import sosfilt

    n = max(8, int(0.05 * fs_hz))
    imp = np.zeros(n)
    imp[0] = 1.0
    h2 = sosfilt(sos, imp) ** 2
    cum = np.cumsum(h2)
    return float(np.argmax(cum >= 0.5 * cum[-1])) / fs_hz


def rest_stats(p: np.ndarray, psi: np.ndarray, fs_hz: float, window_s: float = 0.5, fraction: float = 0.2):
    """(mean, sd) of sqrt(p) and mean of psi over the quietest ``fraction`` of ``window_s`` windows of p."""
    n = p.shape[1]
    w = max(1, int(window_s * fs_hz))
    n_win = n // w
    c_n = p.shape[0]
    mu = np.empty(c_n)
    sd = np.empty(c_n)
    mp = np.empty(c_n)
    for c in range(c_n):
        if n_win < 3:
            seg, raw = p[c], psi[c]
        else:
            blocks = p[c, : n_win * w].reshape(n_win, w)
            keep = np.argsort(blocks.mean(axis=1))[: max(2, int(np.ceil(fraction * n_win)))]
            seg = blocks[keep].ravel()
            raw = psi[c, : n_win * w].reshape(n_win, w)[keep].ravel()
        e = np.sqrt(seg)
        mu[c], sd[c], mp[c] = e.mean(), e.std(), raw.mean()
    return mu, sd, mp


def refine_starts(
    p: np.ndarray,
    psi: np.ndarray,
    spans: list[tuple[int, int]],
    *,
    mu: float,
    sd: float,
    mp_raw: float,
    k_high: float,
    min_on: int,
    fs_hz: float,
    chain_delay_s: float,
    plateau: int,
    lookback: int,
) -> list[float | None]:
    """For each (s, t) span (sample indices in the causal chain's time), the refined start in samples
    (delay-compensated) or None when the causal envelope shows no sustained rise in the span.

    ``p`` is the smoothed causal power of one channel (finds the rise), ``psi`` the unsmoothed causal TKEO
    (places it): the start is the maximum-likelihood change point from rest (mean ``mp_raw``) to the
    contraction's level (mean over the middle half of the span from the rise on; exponential model,
    Page-Hinkley), searched from ``lookback`` samples before the zero-phase start (never before the previous
    span's end) up to the rise."""
    if not spans:
        return []
    st = np.array([sp[0] for sp in spans], dtype=np.int64)
    en = np.array([sp[1] for sp in spans], dtype=np.int64)
    hi = mu + k_high * sd
    res = np.empty(st.size)
    ratio = np.empty(st.size)
    _refine_kernel(p, psi, st, en, hi * hi if hi > 0 else 0.0, mp_raw, min_on, plateau, lookback, res, ratio)
    shift = chain_delay_s * fs_hz
    return [None if np.isnan(v) else (float(v) - shift, float(r)) for v, r in zip(res, ratio, strict=False)]


def ringing_weight(power_ratio: float) -> float:
    """How much to trust the causal edge over the zero-phase one for a burst whose TKEO power is
    ``power_ratio`` x rest: 0 below WEAK_RATIO (the zero-phase filters' ringing stays under the rest band,
    and the zero-phase edge, which sees the whole rise, is the better one), 1 above STRONG_RATIO, log-linear
    in between."""
    if not power_ratio > WEAK_RATIO:
        return 0.0
    return float(min(1.0, np.log(power_ratio / WEAK_RATIO) / np.log(STRONG_RATIO / WEAK_RATIO)))


@njit(cache=True)
def _refine_kernel(p, psi, st, en, hi2, rest, min_on, plateau, lookback, out, ratio):
    prev_end = 0
    for k in range(st.size):
        s = st[k]
        t = en[k]
        out[k] = np.nan
        ratio[k] = np.nan
        # first run of p > hi^2 at least min_on long inside [s, t)
        i = -1
        run = 0
        for j in range(s, t):
            if p[j] > hi2:
                run += 1
                if run >= min_on:
                    i = j - run + 1
                    break
            else:
                run = 0
        if i >= 0:
            a0 = max(prev_end, s - lookback, 0)
            q = (t - i) // 4
            lo_i, hi_i = (i + q, t - q) if t - i > 4 else (i, min(t, i + plateau))
            level = 0.0
            for j in range(lo_i, hi_i):
                level += psi[j]
            level = level / max(1, hi_i - lo_i)
            if i - a0 >= 2 and rest > 0 and level > rest:
                out[k] = _change_point(psi, a0, i, rest, level)
                ratio[k] = level / rest
        prev_end = t


@njit(cache=True)
def _change_point(psi, a0, i, rest, level):
    """argmax over tau in [a0, i] of sum_{k=tau}^{i-1} log-likelihood ratio (level vs rest, exponential)."""
    c0 = np.log(rest / level)
    c1 = 1.0 / rest - 1.0 / level
    acc = 0.0
    best = 0.0
    arg = i
    for k in range(i - 1, a0 - 1, -1):
        acc += c0 + psi[k] * c1
        if acc > best:
            best = acc
            arg = k
    return float(arg)
