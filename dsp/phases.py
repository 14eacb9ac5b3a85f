"""Per-phase statistics of an envelope: work/rest averages, onset and release times, time in a band.

Arrays in, arrays out. ``x`` is one channel's envelope (n,) (uV or % of reference, any unit); phases are
given as start/end times in seconds from the first sample (arrays of the same length, one entry per phase).
These are the statistics clinical sEMG systems print per trial (e.g. MyoTrac, Nu-Tek): the work and rest
averages leave out the first ``skip_s`` of each phase (the transition), onset is the time from a phase's
start until the envelope first reaches a level (75 % of the previous work average), release the time until
it first falls to a level (37.5 % of it). A statistic that cannot be measured is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.errors import SignalError

#: Statistics of a phase leave out its first second (the transition into it).
SKIP_S = 1.0
#: Fewer samples than this after the skip: the phase is too short to average (NaN).
MIN_SAMPLES = 3


@dataclass(frozen=True)
class PhaseStats:
    """One entry per phase (NaN where the phase is too short): mean, SD, CV (%), peak and samples used."""

    mean: np.ndarray
    sd: np.ndarray
    cv_pct: np.ndarray
    peak: np.ndarray
    n_samples: np.ndarray


def _spans(n: int, fs_hz: float, starts_s, ends_s) -> tuple[np.ndarray, np.ndarray]:
    if fs_hz <= 0:
        raise SignalError(f"sampling rate {fs_hz} Hz is not positive; pass fs_hz in Hz")
    s = np.atleast_1d(np.asarray(starts_s, dtype=np.float64))
    e = np.atleast_1d(np.asarray(ends_s, dtype=np.float64))
    if s.shape != e.shape:
        raise SignalError(f"{s.size} phase starts but {e.size} ends; give one end per start")
    i0 = np.clip(np.round(s * fs_hz).astype(np.int64), 0, n)
    i1 = np.clip(np.round(e * fs_hz).astype(np.int64), 0, n)
    return i0, np.maximum(i0, i1)


def phase_stats(x, fs_hz: float, starts_s, ends_s, *, skip_s: float = SKIP_S) -> PhaseStats:
    """Mean, SD, CV (100 SD / mean), peak of ``x`` (n,) over each phase, leaving out its first ``skip_s``.

    Non-finite samples are ignored; a phase with fewer than :data:`MIN_SAMPLES` left gives NaN."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise SignalError(f"phase statistics take one channel (n,), got shape {a.shape}; pass one row")
    i0, i1 = _spans(a.size, fs_hz, starts_s, ends_s)
    skip = int(round(max(0.0, skip_s) * fs_hz))
    k = i0.size
    mean, sd, cv, pk, cnt = (np.full(k, np.nan) for _ in range(5))
    for j in range(k):
        seg = a[min(i0[j] + skip, i1[j]) : i1[j]]
        seg = seg[np.isfinite(seg)]
        cnt[j] = seg.size
        if seg.size < MIN_SAMPLES:
            continue
        mean[j] = seg.mean()
        sd[j] = seg.std()
        pk[j] = seg.max()
        cv[j] = 100.0 * sd[j] / mean[j] if mean[j] > 0 else np.nan
    return PhaseStats(mean=mean, sd=sd, cv_pct=cv, peak=pk, n_samples=cnt)


def time_to_level(x, fs_hz: float, starts_s, ends_s, levels, *, rising: bool) -> np.ndarray:
    """Seconds from each phase's start until ``x`` first reaches (``rising``: >=, else <=) its level.

    ``levels`` has one value per phase; NaN where the level is NaN or is not reached before the phase's end."""
    a = np.asarray(x, dtype=np.float64)
    i0, i1 = _spans(a.size, fs_hz, starts_s, ends_s)
    lv = np.broadcast_to(np.asarray(levels, dtype=np.float64), i0.shape)
    out = np.full(i0.size, np.nan)
    for j in range(i0.size):
        if not np.isfinite(lv[j]):
            continue
        seg = a[i0[j] : i1[j]]
        hit = np.flatnonzero(seg >= lv[j]) if rising else np.flatnonzero(seg <= lv[j])
        if hit.size:
            out[j] = hit[0] / fs_hz
    return out


def time_in_band(x, fs_hz: float, starts_s, ends_s, lo: float, hi: float) -> np.ndarray:
    """Seconds ``x`` spends within [lo, hi] in each phase."""
    a = np.asarray(x, dtype=np.float64)
    i0, i1 = _spans(a.size, fs_hz, starts_s, ends_s)
    return np.array([np.count_nonzero((a[s:e] >= lo) & (a[s:e] <= hi)) / fs_hz for s, e in zip(i0, i1, strict=True)])


def phase_mask(n: int, fs_hz: float, starts_s, ends_s) -> np.ndarray:
    """Boolean (n,) mask, True inside any of the phases."""
    i0, i1 = _spans(n, fs_hz, starts_s, ends_s)
    m = np.zeros(n, dtype=bool)
    for s, e in zip(i0, i1, strict=True):
        m[s:e] = True
    return m
