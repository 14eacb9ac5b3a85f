"""Activation detection: offline onsets/offsets (sub-sample interpolated) and an online per-chunk detector.

Offline (Hodges-Bui style, with Bonato-style double threshold and TKEO conditioning), in two steps:

1. Find bursts: band-pass + notches (zero-phase) -> Teager-Kaiser operator -> zero-phase low-pass ->
   square root (an uV-like envelope). The rest baseline (mean ``mu`` and SD ``sd`` of that envelope over
   rest) anchors the false-alarm rate: an activation is a stretch above ``mu + k_low*sd`` that contains at
   least ``min_on_s`` continuously above ``mu + k_high*sd``; stretches closer than ``min_off_s`` merge.
2. Place the edges (``refine=True``, raw input): the zero-phase filters (the 2 Hz mains notches above all)
   ring before a strong onset and after a strong offset, so on contractions 10-100x rest the stretch above
   ``mu + k_low*sd`` starts 50-400 ms early and ends as late. Each onset is re-placed on a causal chain
   (the same band-pass and notches run forward only: no response before the event), as the
   maximum-likelihood change point of its raw TKEO from the rest level to the contraction's level,
   minus the chain's energy delay; each offset likewise on the anti-causal chain (the signal run backwards).
   The zero-phase edge bounds the refined one (it can only be too early / too late); weak bursts (whose
   ringing stays inside the rest band) keep the zero-phase edge, strong ones take the causal one, blended
   in between by the burst's TKEO power ratio. A burst touching a file edge whose power, on the chain settled
   at that edge, is at rest level is dropped (a filter start-up transient). See :mod:`dsp._refine`.

With ``prefiltered=True`` only step 1 runs (the causal chains need the raw samples).

Online: :class:`OnlineDetector` takes envelope chunks (from :class:`dsp.pipeline.EmgPipeline`) and
decides per channel, with hysteresis and minimum on/off times (bounded delay ``min_on_s``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from dsp._chain import as_signal, hold_bad_samples
from dsp._refine import ringing_weight as _ringing_weight
from dsp.design import lowpass_sos
from dsp.errors import SignalError

#: defaults, chosen on generated contractions (see tests/test_dsp_detection.py)
K_HIGH = 7.0
K_LOW = 3.0
MIN_ON_S = 0.05
MIN_OFF_S = 0.15
CUTOFF_HZ = 15.0
#: a burst touching a file edge is kept only if, on the chain settled at that edge, its mean TKEO power is
#: at least this many times the rest mean (a zero-phase start-up transient sits at about 1)
EDGE_MIN_RATIO = 2.0


@dataclass(frozen=True)
class Activation:
    """One detected activation: onset/offset in s from the first sample; ``peak_uv``/``mean_uv`` of the
    zero-phase linear envelope (rectified, 6 Hz) between onset and offset."""

    onset_s: float
    offset_s: float
    peak_uv: float
    mean_uv: float

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s


def tkeo_envelope(filtered_uv: np.ndarray, fs_hz: float, cutoff_hz: float = CUTOFF_HZ) -> np.ndarray:
    """Zero-phase TKEO-conditioned envelope (C, n), uV-like: sqrt(lowpass(|x[n]^2 - x[n-1] x[n+1]|))."""
    from dsp.filters import sosfiltfilt

    x = np.ascontiguousarray(filtered_uv, dtype=np.float64)
    psi = np.empty_like(x)
    _tkeo_centred(x, psi)
    return np.sqrt(np.maximum(sosfiltfilt(psi, lowpass_sos(cutoff_hz, fs_hz, order=2)), 0.0))


@njit(cache=True)
def _tkeo_centred(x, out):
    """out = |x[n]^2 - x[n-1] x[n+1]|, ends copied from their neighbours (0 when n <= 2)."""
    n_ch, n = x.shape
    for c in range(n_ch):
        for i in range(1, n - 1):
            v = x[c, i] * x[c, i] - x[c, i - 1] * x[c, i + 1]
            out[c, i] = v if v >= 0.0 else -v
        if n > 2:
            out[c, 0] = out[c, 1]
            out[c, n - 1] = out[c, n - 2]
        else:
            for i in range(n):
                out[c, i] = 0.0


def _robust_rest_windows(env: np.ndarray, fs_hz: float, window_s: float = 0.5, fraction: float = 0.2):
    """Baseline (mu, sd) per channel from the quietest ``fraction`` of ``window_s`` windows."""
    n = env.shape[1]
    w = max(1, int(window_s * fs_hz))
    n_win = n // w
    mus = np.empty(env.shape[0])
    sds = np.empty(env.shape[0])
    for c in range(env.shape[0]):
        if n_win < 3:
            seg = env[c]
        else:
            blocks = env[c, : n_win * w].reshape(n_win, w)
            means = blocks.mean(axis=1)
            keep = np.argsort(means)[: max(2, int(np.ceil(fraction * n_win)))]
            seg = blocks[keep].ravel()
        mus[c] = seg.mean()
        sds[c] = seg.std()
    return mus, sds


def _crossing(env: np.ndarray, i: int, level: float) -> float:
    """Sub-sample index where env crosses ``level`` between samples i-1 and i (linear interpolation)."""
    if i <= 0 or i >= env.shape[0]:
        return float(i)
    a = env[i - 1]
    b = env[i]
    if b == a:
        return float(i)
    return (i - 1) + (level - a) / (b - a)


@njit(cache=True)
def _find_spans(e, lo, hi, min_on, min_off, out):
    """Stretches of ``e`` above ``lo`` (closer than ``min_off`` samples merged) that hold at least ``min_on``
    samples in a row above ``hi``: start/end (exclusive) written to out[0]/out[1]; returns the count."""
    n = e.shape[0]
    k = 0
    cur_s = -1
    cur_t = -1
    cur_ok = False
    i = 0
    while i < n:
        if not e[i] > lo:
            i += 1
            continue
        j = i
        run = 0
        ok = False
        while j < n and e[j] > lo:
            if e[j] > hi:
                run += 1
                if run >= min_on:
                    ok = True
            else:
                run = 0
            j += 1
        if cur_s >= 0 and i - cur_t < min_off:
            cur_t = j
            cur_ok = cur_ok or ok
        else:
            if cur_s >= 0 and cur_ok:
                out[0, k] = cur_s
                out[1, k] = cur_t
                k += 1
            cur_s = i
            cur_t = j
            cur_ok = ok
        i = j
    if cur_s >= 0 and cur_ok:
        out[0, k] = cur_s
        out[1, k] = cur_t
        k += 1
    return k


def detect_activations(
    x_uv,
    fs_hz: float,
    *,
    rest=None,
    mains_hz: float | None = 50,
    band_hz=None,
    near_heart: bool = False,
    prefiltered: bool = False,
    k_high: float = K_HIGH,
    k_low: float = K_LOW,
    min_on_s: float = MIN_ON_S,
    min_off_s: float = MIN_OFF_S,
    cutoff_hz: float = CUTOFF_HZ,
    refine: bool = True,
) -> list[list[Activation]]:
    """Offline onsets and offsets per channel of ``x_uv`` (C, n) raw uV (or band-passed if ``prefiltered``).

    ``rest`` (C, m) is a rest recording (same units/filtering as ``x_uv``) to anchor the thresholds;
    without it the quietest 20 % of 0.5 s windows of ``x_uv`` serve as baseline. ``refine=False`` keeps the
    zero-phase edges (step 1 of the module docstring only; they are early/late on strong contractions).
    Returns a list per channel of :class:`Activation`, times in s from the first sample.
    """
    from dsp.design import design_filters
    from dsp.envelope import emg_amplitude
    from dsp.pipeline import emg_clean

    x = as_signal(x_uv)
    fs_hz = float(fs_hz)
    if k_high < k_low:
        raise SignalError(f"k_high ({k_high}) is below k_low ({k_low}); the upper threshold must be the higher one")
    if min_on_s < 0 or min_off_s < 0:
        raise SignalError("min_on_s and min_off_s must not be negative; pass durations in seconds")
    if x.shape[1] < int(0.2 * fs_hz):
        raise SignalError(f"signal is {x.shape[1] / fs_hz:.3f} s long; detection needs at least 0.2 s")

    def clean(sig):
        if prefiltered:
            return hold_bad_samples(sig)
        return emg_clean(sig, fs_hz, mains_hz=mains_hz, band_hz=band_hz, near_heart=near_heart, zero_phase=True)

    def clean_causal(sig):
        return emg_clean(sig, fs_hz, mains_hz=mains_hz, band_hz=band_hz, near_heart=near_heart, zero_phase=False)

    clean_causal.sos = design_filters(fs_hz, band_hz=band_hz, mains_hz=mains_hz, near_heart=near_heart).sos
    y = clean(x)
    env = tkeo_envelope(y, fs_hz, cutoff_hz)
    if rest is not None:
        r = as_signal(rest, x.shape[0], name="rest recording")
        if r.shape[1] < int(0.5 * fs_hz):
            raise SignalError(f"rest recording is {r.shape[1] / fs_hz:.2f} s long; give at least 1 s of rest")
        renv = tkeo_envelope(clean(r), fs_hz, cutoff_hz)
        skip = min(int(0.1 * fs_hz), renv.shape[1] // 4)  # edge effects of the zero-phase filters
        core = renv[:, skip : renv.shape[1] - skip]
        mus, sds = core.mean(axis=1), core.std(axis=1)
    else:
        mus, sds = _robust_rest_windows(env, fs_hz)
    amp = emg_amplitude(y, fs_hz, method="linear", zero_phase=True)
    min_on = max(1, int(round(min_on_s * fs_hz)))
    min_off = int(round(min_off_s * fs_hz))
    n = x.shape[1]
    spans_all: list[list[tuple[int, int]]] = []
    for c in range(x.shape[0]):
        lo = mus[c] + k_low * sds[c]
        hi = mus[c] + k_high * sds[c]
        buf = np.empty((2, env.shape[1] // 2 + 2), dtype=np.int64)
        k = _find_spans(env[c], lo, hi, min_on, min_off, buf)
        spans_all.append([(int(buf[0, i]), int(buf[1, i])) for i in range(k)])
    starts, ends, edge_ratio = (
        _refine_edges(x, spans_all, fs_hz, rest, clean_causal, k_high, min_on)
        if refine and not prefiltered and any(spans_all)
        else (None, None, {})
    )
    out: list[list[Activation]] = []
    for c in range(x.shape[0]):
        e = env[c]
        lo = mus[c] + k_low * sds[c]
        acts: list[Activation] = []
        for k, (s, t) in enumerate(spans_all[c]):
            if edge_ratio.get((c, k), np.inf) < EDGE_MIN_RATIO:
                # touches a file edge and the chain that is settled at that edge (anti-causal at the
                # start, causal at the end) sees rest there: a zero-phase start-up transient, not a contraction
                continue
            on = _crossing(e, s, lo)
            off = _crossing(e, t, lo) if t < n else float(t)
            # the zero-phase onset can only be early and its offset only late (ringing): move them toward
            # the causal / anti-causal edges, fully for strong bursts (see dsp._refine.ringing_weight)
            if starts is not None and starts[c][k] is not None:
                pos, ratio = starts[c][k]
                on = on + _ringing_weight(ratio) * max(0.0, min(pos, off - 1.0) - on)
            if ends is not None and ends[c][k] is not None:
                pos, ratio = ends[c][k]
                off = off - _ringing_weight(ratio) * max(0.0, off - max(pos, on + 1.0))
            i0 = min(max(int(np.floor(on)), s), t - 1)
            i1 = max(min(int(np.ceil(off)) + 1, t), i0 + 1)
            seg = amp[c, i0:i1]
            acts.append(
                Activation(
                    onset_s=float(on) / fs_hz,
                    offset_s=float(off) / fs_hz,
                    peak_uv=float(seg.max()),
                    mean_uv=float(seg.mean()),
                )
            )
        out.append(acts)
    return out


def _refine_edges(x, spans_all, fs_hz, rest, clean_causal, k_high, min_on):
    """Onsets from the causal chain and offsets from the anti-causal one (see :mod:`dsp._refine`):
    per channel a list (one per span) of sample positions or None; and for spans touching a file edge,
    {(channel, span): mean TKEO power over the span / rest mean} on the chain settled at that edge."""
    from dsp import _refine as R

    n = x.shape[1]
    sos = clean_causal.sos
    delay = R.chain_delay_s(sos, fs_hz) + 1.0 / fs_hz  # band-pass energy delay + TKEO's one sample
    plateau = max(1, int(R.PLATEAU_S * fs_hz))
    lookback = int(R.LOOKBACK_S * fs_hz)
    results = []
    edge_ratio: dict[tuple[int, int], float] = {}
    for direction in (1, -1):
        sig = x if direction == 1 else np.ascontiguousarray(x[:, ::-1])
        p, psi = R.causal_power(clean_causal(sig), fs_hz)
        if rest is not None:
            r = as_signal(rest, x.shape[0], name="rest recording")
            r = r if direction == 1 else np.ascontiguousarray(r[:, ::-1])
            rp, rpsi = R.causal_power(clean_causal(r), fs_hz)
            skip = min(int(1.0 * fs_hz), rp.shape[1] // 3)  # the causal notches settle
            mu, sd = np.sqrt(rp[:, skip:]).mean(axis=1), np.sqrt(rp[:, skip:]).std(axis=1)
            mp = rpsi[:, skip:].mean(axis=1)
        else:
            mu, sd, mp = R.rest_stats(p, psi, fs_hz)
        per_ch = []
        for c, spans in enumerate(spans_all):
            sp = spans if direction == 1 else [(n - t, n - s) for s, t in reversed(spans)]
            got = R.refine_starts(
                p[c],
                psi[c],
                sp,
                mu=mu[c],
                sd=sd[c],
                mp_raw=mp[c],
                k_high=k_high,
                min_on=min_on,
                fs_hz=fs_hz,
                chain_delay_s=delay,
                plateau=plateau,
                lookback=lookback,
            )
            for k, (s0, t0) in enumerate(sp):
                # the causal chain is settled at the file's end, the anti-causal one at its start
                if t0 == n and mp[c] > 0:
                    kk = k if direction == 1 else len(sp) - 1 - k
                    edge_ratio[(c, kk)] = min(edge_ratio.get((c, kk), np.inf), float(psi[c, s0:t0].mean()) / mp[c])
            if direction == -1:
                got = [None if g is None else ((n - 1) - g[0], g[1]) for g in reversed(got)]
            per_ch.append(got)
        results.append(per_ch)
    return results[0], results[1], edge_ratio


@njit(cache=True)
def _online_kernel(env, on_level, off_level, min_on, min_off, active, run, states):
    n_ch, n = env.shape
    for c in range(n_ch):
        a = active[c]
        r = run[c]
        for t in range(n):
            v = env[c, t]
            if a:
                if v < off_level[c] or not np.isfinite(v):
                    r += 1
                    if r >= min_off:
                        a = False
                        r = 0
                else:
                    r = 0
            else:
                if v > on_level[c]:
                    r += 1
                    if r >= min_on:
                        a = True
                        r = 0
                else:
                    r = 0
            states[c, t] = a
        active[c] = a
        run[c] = r


class OnlineDetector:
    """Causal on/off decision per channel from envelope chunks (C, n) in uV.

    On when the envelope stays above ``on_uv`` for ``min_on_s`` (the decision delay bound), off when it
    stays below ``off_uv`` for ``min_off_s``. Build from thresholds, or with :meth:`from_rest` /
    :meth:`from_calibration` to anchor them to the rest floor (mean + k SD of the rest envelope).
    """

    def __init__(self, fs_hz: float, on_uv, off_uv=None, *, min_on_s: float = 0.03, min_off_s: float = 0.1) -> None:
        self.fs_hz = float(fs_hz)
        on = np.atleast_1d(np.asarray(on_uv, dtype=np.float64)).copy()
        off = on.copy() if off_uv is None else np.atleast_1d(np.asarray(off_uv, dtype=np.float64)).copy()
        if off.shape != on.shape:
            raise SignalError("on and off thresholds differ in channel count; give one value per channel")
        if not (np.all(np.isfinite(on)) and np.all(np.isfinite(off))):
            raise SignalError("detection thresholds contain NaN/inf; recalibrate the rest baseline")
        if np.any(off > on):
            raise SignalError("off threshold above the on threshold; the off (release) level must be the lower one")
        self.on_uv = on
        self.off_uv = off
        self.n_channels = on.shape[0]
        self.min_on = max(1, int(round(min_on_s * self.fs_hz)))
        self.min_off = max(1, int(round(min_off_s * self.fs_hz)))
        self.reset()

    @classmethod
    def from_rest(cls, rest_env, fs_hz: float, *, k_on: float = 4.0, k_off: float = 3.0, **kw) -> OnlineDetector:
        """Thresholds at mean + k SD of a rest envelope (C, n) (the same envelope the pipeline produces)."""
        r = np.atleast_2d(np.asarray(rest_env, dtype=np.float64))
        if not np.all(np.isfinite(r)):
            raise SignalError("rest envelope has NaN/inf samples; record rest again")
        mu, sd = r.mean(axis=1), r.std(axis=1)
        return cls(fs_hz, mu + k_on * sd, mu + k_off * sd, **kw)

    @classmethod
    def from_calibration(cls, calibration, *, k_on: float = 4.0, k_off: float = 3.0, **kw) -> OnlineDetector:
        """Thresholds at rest floor + k rest SDs of a :class:`dsp.calibration.Calibration`."""
        return cls(calibration.fs_hz, calibration.rest_threshold_uv(k_on), calibration.rest_threshold_uv(k_off), **kw)

    def reset(self) -> None:
        self.active = np.zeros(self.n_channels, dtype=np.bool_)
        self._run = np.zeros(self.n_channels, dtype=np.int64)
        self.last_states = np.zeros((self.n_channels, 0), dtype=np.bool_)

    def update(self, env_uv) -> np.ndarray:
        """Feed the next envelope chunk (C, n); return the decision (C,) bool after its last sample.
        Per-sample decisions of this chunk are in ``last_states`` (C, n)."""
        env = as_signal(env_uv, self.n_channels, name="envelope chunk")
        states = np.empty(env.shape, dtype=np.bool_)
        _online_kernel(env, self.on_uv, self.off_uv, self.min_on, self.min_off, self.active, self._run, states)
        self.last_states = states
        return self.active.copy()
