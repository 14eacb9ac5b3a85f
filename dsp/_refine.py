"""Edge refinement for offline detection: onsets from a causal chain, offsets from an anti-causal one.

A zero-phase (forward-backward) band-pass and, above all, the 2 Hz wide mains notches ring before a strong
onset and after a strong offset (the notch's ringing decays with a time constant of about 1/(pi * 2 Hz) =
160 ms), so a threshold anchored at the rest SD crosses that ringing 50-500 ms away from the event once the
contraction is 10x rest or more. A causal filter cannot respond before its input changes: run forward
only, the chain's response to an onset starts at the onset; run on the time-reversed signal (anti-causal),
its response to an offset ends at the offset. Each burst found on the zero-phase envelope is refined:

- onset: on the causal envelope (causal band-pass + notches -> TKEO -> causal low-pass -> sqrt), the first
  sustained rise above ``mu + k_high sd`` after the burst's zero-phase start, then back to the last sample
  below ``mu + k_low sd`` (interpolated), minus the chain's delay for a step of the observed height (the
  time the low-pass step response takes to reach the threshold's fraction of the step, plus the band-pass
  energy delay);
- offset: the same on the time-reversed signal.

The refined edge is never moved outside the zero-phase one (that one is only ever too early / too late).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dsp.design import lowpass_sos

#: low-pass of the causal TKEO envelope, Hz (a faster corner than the zero-phase one: less delay to undo)
CAUSAL_CUTOFF_HZ = 25.0
#: the level after the rise is read over this long after the high-threshold crossing, s
PLATEAU_S = 0.1
#: the change point is searched from this long before the zero-phase start (which is never late by more)
LOOKBACK_S = 0.1


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


def _step_times(fs_hz: float, cutoff_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(fraction, delay s): the causal low-pass step response, for inverting 'how long to reach fraction f'."""
    from scipy.signal import sosfilt

    n = int(0.5 * fs_hz)
    s = sosfilt(lowpass_sos(cutoff_hz, fs_hz, order=2), np.ones(n))
    s = np.maximum.accumulate(s)  # monotone (Butterworth overshoot ignored past the first peak)
    k = int(np.argmax(s >= s.max()))
    return s[: k + 1], np.arange(k + 1) / fs_hz


def _chain_delay_s(sos: np.ndarray, fs_hz: float) -> float:
    """Energy delay of the causal band-pass/notch chain: when its impulse response has delivered half of the
    energy of its first 50 ms (the main lobe; the notches' long low-level tails are ignored)."""
    from scipy.signal import sosfilt

    n = max(8, int(0.05 * fs_hz))
    imp = np.zeros(n)
    imp[0] = 1.0
    h2 = sosfilt(sos, imp) ** 2
    cum = np.cumsum(h2)
    return float(np.argmax(cum >= 0.5 * cum[-1])) / fs_hz


def _rest_stats(p: np.ndarray, psi: np.ndarray, fs_hz: float, window_s: float = 0.5, fraction: float = 0.2):
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


def refine_starts(p: np.ndarray, psi: np.ndarray, spans: list[tuple[int, int]], *, mu: float, sd: float,
                  mp_raw: float, k_high: float, min_on: int, fs_hz: float, chain_delay_s: float,
                  plateau: int, lookback: int) -> list[float | None]:
    """For each (s, t) span (sample indices in the causal chain's time), the refined start in samples
    (delay-compensated) or None when the causal envelope shows no sustained rise in the span.

    ``p`` is the smoothed causal power of one channel (finds the rise), ``psi`` the unsmoothed causal TKEO
    (places it): the start is the maximum-likelihood change point from rest (mean ``mp_raw``) to the
    level after the rise (exponential model; Page-Hinkley), searched from ``lookback`` samples before the
    zero-phase start (never before the previous span's end) up to the rise."""
    e = np.sqrt(p)
    hi = mu + k_high * sd
    out: list[float | None] = []
    prev_end = 0
    for s, t in spans:
        i = _first_run(e[s:t] > hi, min_on)
        if i < 0:
            out.append(None)
            prev_end = t
            continue
        i += s
        a0 = max(prev_end, s - lookback, 0)
        # the contraction's level: the mean over the span's middle (a two-level model, so a slow rise or
        # a slow relaxation tail does not lower it)
        q = (t - i) // 4
        level = float(psi[i + q: t - q].mean()) if t - i > 4 else float(psi[i: min(t, i + plateau)].mean())
        if i - a0 < 2 or not level > mp_raw > 0:
            out.append(None)
            prev_end = t
            continue
        out.append(_change_point(psi, a0, i, mp_raw, level) - chain_delay_s * fs_hz)
        prev_end = t
    return out


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


def _first_run(mask: np.ndarray, min_len: int) -> int:
    """Index of the first run of True at least ``min_len`` long, or -1."""
    if mask.size == 0:
        return -1
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    ok = np.flatnonzero(ends - starts >= min_len)
    return int(starts[ok[0]]) if ok.size else -1
