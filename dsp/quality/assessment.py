"""Batch quality assessment of a recording, per channel (arrays in, results out).

One algorithm for each check, used by :func:`assess_quality` and by the offline analysis
(``emg.analysis``):

- non-finite samples: :func:`fill_nonfinite`;
- flat, railed and missing channels: :func:`check_channel` (with :func:`railed_mask` and the pinned-level
  rule for boards whose rail is unknown), per-sample flags of a whole recording: :func:`sample_flags`,
  summarised by :func:`flag_summary`;
- power spectra: :func:`power_spectra`; mains: :func:`mains_lines_hz`, :func:`detect_mains_hz`,
  :func:`mains_share`;
- ECG contamination: :func:`detect_ecg`.

Signals are (channels x samples) microvolts; spectra are (channels x frequencies) uV^2/Hz.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dsp._chain import as_signal
from dsp.errors import SignalError
from dsp.quality.flags import RAIL_MARGIN, QualityFlag, QualityMonitor

#: Share of a channel's samples at the rail from which the channel is called railed.
RAILED_FRACTION = 0.01
#: A channel is flat when more than this share of consecutive samples is unchanged.
FLAT_UNCHANGED_FRACTION = 0.98

#: Spectra of long recordings: at most this many 4 s segments, spread over the file.
SPECTRUM_MAX_SEGMENTS = 256

#: ECG: autocorrelation peak of the QRS-band envelope between 40 and 180 bpm from this -> contaminated.
ECG_AUTOCORR_MIN = 0.35
#: ECG check of long recordings: this many blocks of ECG_BLOCK_S seconds spread over the file.
ECG_BLOCKS = 5
ECG_BLOCK_S = 60.0

#: What :func:`check_channel` calls a channel that can be analysed.
USABLE_STATUSES = ("ok", "railed-partly")


# --------------------------------------------------------------------------- non-finite samples


def fill_nonfinite(x_uv: np.ndarray) -> np.ndarray:
    """Copy of ``x_uv`` (C, n) with NaN/inf replaced by linear interpolation of the neighbours
    (edges take the nearest good sample; a channel without any finite sample becomes 0)."""
    raw = np.asarray(x_uv, dtype=np.float64)
    mask = ~np.isfinite(raw)
    out = raw.copy()
    if not mask.any():
        return out
    t = np.arange(raw.shape[1])
    for c in np.flatnonzero(mask.any(axis=1)):
        good = ~mask[c]
        if not good.any():
            out[c] = 0.0
            continue
        out[c, ~good] = np.interp(t[~good], t[good], raw[c, good])
    return out


# --------------------------------------------------------------------------- flat, railed, missing


@dataclass(frozen=True)
class ChannelCheck:
    """Flat / railed / missing-data verdict on one channel (see :func:`check_channel`).

    ``status``: ``ok``, ``railed-partly`` (usable, some spells at the rail), ``flat``, ``disconnected`` or
    ``no-data``; ``reason``: one line saying why (``""`` when ok). Fractions are of the samples (0-1);
    ``rail_uv`` is the rail the railed samples were judged against (the given one, else the level the
    channel sits pinned at; None when neither)."""

    status: str
    reason: str
    nonfinite_count: int
    nonfinite_fraction: float
    peak_to_peak_uv: float
    unchanged_fraction: float
    flat: bool
    railed_fraction: float
    railed: bool
    disconnected: bool
    rail_uv: float | None

    @property
    def usable(self) -> bool:
        """The channel can be analysed (``ok`` or ``railed-partly``)."""
        return self.status in USABLE_STATUSES


def _has_long_run(mask: np.ndarray, min_len: int) -> bool:
    idx = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return bool(np.any(idx[1::2] - idx[0::2] >= min_len)) if idx.size else False


def railed_mask(x_uv: np.ndarray, rail_uv: float | None = None) -> np.ndarray:
    """Samples of one finite channel ``x_uv`` (n,) at the rail: bool (n,).

    With a known ``rail_uv``: ``|x| >= 0.999 rail``. Without one: the samples pinned at the channel's
    extremes (maximum or minimum), but only when they are at least 1 % of the samples and include a run
    of max(8, n / 1000) samples (a railed amplifier stays there; noise touches its extremes once)."""
    x = np.asarray(x_uv, dtype=np.float64)
    if rail_uv:
        return np.abs(x) >= RAIL_MARGIN * rail_uv
    lo, hi = float(np.min(x)), float(np.max(x))
    if hi - lo <= 0:
        return np.zeros(x.shape, dtype=bool)
    at_rail = (x == hi) | (x == lo)
    if at_rail.mean() < RAILED_FRACTION or not _has_long_run(at_rail, max(8, x.size // 1000)):
        return np.zeros(x.shape, dtype=bool)
    return at_rail


def check_channel(x_uv: np.ndarray, *, rail_uv: float | None = None, nonfinite_count: int = 0) -> ChannelCheck:
    """Flat / disconnected / railed / missing-data check of one raw channel ``x_uv`` (n,) in uV.

    ``x_uv`` must be finite (non-finite samples filled with :func:`fill_nonfinite`); ``nonfinite_count``
    says how many were (all of them: ``no-data``). Flat: every sample equal, or more than 98 % of
    consecutive samples unchanged. Railed: :func:`railed_mask`; from 1 % of the samples ``railed``
    (status ``railed-partly``), above 50 % ``disconnected``. More than half the samples non-finite: ``no-data``.
    """
    x = np.asarray(x_uv, dtype=np.float64)
    n = x.size
    if n == 0:
        raise SignalError("channel has no samples; pass at least one sample per channel")
    all_nonfinite = nonfinite_count >= n
    lo, hi = float(np.min(x)), float(np.max(x))
    ptp = hi - lo
    diffs = np.diff(x)
    unchanged = float(np.mean(diffs == 0)) if diffs.size else 1.0
    flat = bool(all_nonfinite or ptp == 0.0 or unchanged > FLAT_UNCHANGED_FRACTION)
    at_rail = railed_mask(x, rail_uv)
    railed_fraction = float(at_rail.mean())
    rail = float(rail_uv) if rail_uv else (float(np.max(np.abs(x[at_rail]))) if at_rail.any() else None)
    railed = railed_fraction >= RAILED_FRACTION
    disconnected = flat or railed_fraction > 0.5
    if all_nonfinite:
        status, reason = "no-data", "every sample is NaN/inf: the channel carried no data"
    elif flat:
        status = "flat"
        reason = (
            f"flat channel (all samples {float(np.median(x)):g}): electrode not connected or channel unused"
            if ptp == 0
            else f"flat channel ({unchanged:.0%} of samples unchanged): electrode not connected or channel unused"
        )
    elif railed_fraction > 0.5:
        status = "disconnected"
        reason = f"railed for {railed_fraction:.0%} of the recording: lead off or electrode not touching the skin"
    elif nonfinite_count > 0.5 * n:
        status, reason = "no-data", f"{nonfinite_count / n:.0%} of the samples are NaN/inf"
    elif railed:
        status = "railed-partly"
        reason = f"railed for {railed_fraction:.1%} of the recording (those spells may hide activations)"
    else:
        status, reason = "ok", ""
    return ChannelCheck(
        status=status,
        reason=reason,
        nonfinite_count=int(nonfinite_count),
        nonfinite_fraction=float(nonfinite_count / n),
        peak_to_peak_uv=ptp,
        unchanged_fraction=unchanged,
        flat=flat,
        railed_fraction=railed_fraction,
        railed=railed,
        disconnected=disconnected,
        rail_uv=rail,
    )


def sample_flags(x_uv: np.ndarray, fs_hz: float, rail_uv: float | Sequence[float | None] | None = None) -> np.ndarray:
    """:class:`~dsp.quality.flags.QualityMonitor` flags (C, n) uint8 of a whole raw recording ``x_uv`` (C, n).

    ``rail_uv``: one rail for every channel, or one per channel (e.g. :attr:`ChannelCheck.rail_uv`);
    None: no rail check."""
    x = as_signal(x_uv)
    n_ch = x.shape[0]
    rails = list(rail_uv) if isinstance(rail_uv, (list, tuple, np.ndarray)) else [rail_uv] * n_ch
    if len(rails) != n_ch:
        raise SignalError(f"{len(rails)} rails for {n_ch} channels; pass one rail_uv, or one per channel")
    rails = [float(r) if r else None for r in rails]
    flags = np.zeros(x.shape, dtype=np.uint8)
    for rail in dict.fromkeys(rails):
        rows = [c for c in range(n_ch) if rails[c] == rail]
        flags[rows] = QualityMonitor(fs_hz, len(rows), rail).update(x[rows])
    return flags


@dataclass(frozen=True)
class FlagSummary:
    """Per channel (C,): jumps (SPIKE spells), share of samples flagged LEAD_OFF, share flagged at all."""

    spike_count: np.ndarray
    lead_off_fraction: np.ndarray
    flagged_fraction: np.ndarray


def flag_summary(flags: np.ndarray) -> FlagSummary:
    """Summary per channel of :func:`sample_flags` / ``QualityMonitor.update`` output ``flags`` (C, n) uint8."""
    fl = np.atleast_2d(np.asarray(flags))
    spike = (fl & int(QualityFlag.SPIKE)) > 0
    starts = spike[:, 1:] & ~spike[:, :-1]
    return FlagSummary(
        spike_count=starts.sum(axis=1) + spike[:, 0],
        lead_off_fraction=((fl & int(QualityFlag.LEAD_OFF)) > 0).mean(axis=1),
        flagged_fraction=(fl > 0).mean(axis=1),
    )


# --------------------------------------------------------------------------- spectra and mains


def power_spectra(
    x_uv: np.ndarray, fs_hz: float, *, max_segments: int = SPECTRUM_MAX_SEGMENTS
) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectra of finite ``x_uv`` (C, n): (f_hz (m,), psd (C, m) uV^2/Hz) at 0.25 Hz resolution.

    Hann segments of 4 s (the whole signal if shorter), mean removed per segment. Long recordings (more
    than 64 segments) use non-overlapping segments, at most ``max_segments`` spread over the file."""
    from scipy import signal as sps

    x = np.asarray(x_uv, dtype=np.float64)
    fs = float(fs_hz)
    nper = int(min(x.shape[1], round(4 * fs)))
    n_seg = x.shape[1] // nper
    if n_seg > 64:  # non-overlapping Hann segments in one batched FFT (Welch, 0 % overlap)
        seg = x[:, : n_seg * nper].reshape(x.shape[0], n_seg, nper)
        if n_seg > max_segments:
            seg = seg[:, np.linspace(0, n_seg - 1, max_segments).astype(np.int64)]
        seg = seg - seg.mean(axis=2, keepdims=True)
        win = np.hanning(nper)
        p = (np.abs(np.fft.rfft(seg * win, axis=2)) ** 2).mean(axis=1) / (fs * np.sum(win**2))
        p[:, 1:-1] *= 2.0
        return np.fft.rfftfreq(nper, 1.0 / fs), p
    f, p = sps.welch(x, fs=fs, nperseg=nper, detrend="constant", axis=-1)
    return f, p


def mains_lines_hz(fs_hz: float, mains_hz: float | None, band_hz: tuple[float, float] | None = None) -> list[float]:
    """Where mains shows in a raw spectrum sampled at ``fs_hz``: the fundamental, every harmonic below
    ``fs_hz`` folded about Nyquist, inside ``band_hz`` (+-2 Hz; default 1 Hz to Nyquist - 1 Hz), in Hz."""
    if not mains_hz:
        return []
    nyq = fs_hz / 2.0
    band = band_hz if band_hz is not None else (1.0, nyq - 1.0)
    out: list[float] = []
    k = 1
    while k * mains_hz < fs_hz:
        f = (k * mains_hz) % fs_hz
        f = fs_hz - f if f > nyq else f
        if band[0] - 2 <= f <= band[1] + 2 and f < nyq - 1 and all(abs(f - g) > 1.0 for g in out):
            out.append(round(float(f), 6))
        k += 1
    return sorted(out)


def detect_mains_hz(
    f_hz: np.ndarray, psd: np.ndarray, fs_hz: float, *, channels: Sequence[int] | None = None
) -> float | None:
    """50.0 or 60.0 when that mains line stands out of the spectra ``psd`` (C, m) at ``f_hz`` (m,), else None.

    Per channel, the line-to-neighbourhood power ratio (+-0.75 Hz against the median of 2-6 Hz either side)
    is summed over the fundamental and 2 harmonics (or their aliases); the channel where it stands out most
    decides (EMG can hide it elsewhere). A line wins at 3 x the other frequency's score or above 20.
    ``channels``: the rows to look at (default, or empty: all)."""
    f, p_all = np.asarray(f_hz), np.atleast_2d(psd)
    fs = float(fs_hz)
    rows = list(channels) if channels else list(range(p_all.shape[0]))
    score = {}
    for mains in (50.0, 60.0):
        tot = np.zeros(len(rows))
        for k in (1, 2, 3):
            fk = (k * mains) % fs
            fk = fs - fk if fk > fs / 2 else fk
            if fk < 1 or fk > fs / 2 - 1:
                continue
            line = p_all[rows][:, (f >= fk - 0.75) & (f <= fk + 0.75)].mean(axis=1)
            near = np.median(p_all[rows][:, ((f >= fk - 6) & (f <= fk - 2)) | ((f >= fk + 2) & (f <= fk + 6))], axis=1)
            tot += np.where(near > 0, line / np.where(near > 0, near, 1.0), 0.0)
        score[mains] = float(tot.max())
    best = max(score, key=score.get)
    other = 110.0 - best
    if score[best] > 3.0 * max(score[other], 1.0) or score[best] > 20.0:
        return best
    return None


def mains_share(
    f_hz: np.ndarray, psd: np.ndarray, fs_hz: float, mains_hz: float | None
) -> tuple[float | None, list[float]]:
    """(share, lines_hz) of one channel's spectrum ``psd`` (m,) at ``f_hz`` (m,): the share (0-1) of the power
    above 1 Hz within +-1 Hz of the :func:`mains_lines_hz`. Without ``mains_hz`` the larger of the 50 Hz and
    60 Hz shares. (None, []) when there is no power above 1 Hz."""
    f, pc = np.asarray(f_hz), np.asarray(psd)
    keep = f >= 1.0
    total = float(pc[keep].sum())
    if total <= 0:
        return None, []
    best_share, best_lines = -1.0, []
    for mains in [mains_hz] if mains_hz else [50.0, 60.0]:
        lines = mains_lines_hz(fs_hz, mains)
        m = np.zeros_like(f, dtype=bool)
        for fl in lines:
            m |= (f >= fl - 1.0) & (f <= fl + 1.0)
        share = float(pc[m & keep].sum()) / total
        if share > best_share:
            best_share, best_lines = share, lines
    return best_share, best_lines


def _band_power(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    return float(p[(f >= lo) & (f <= hi)].sum())


# --------------------------------------------------------------------------- ECG


@dataclass(frozen=True)
class EcgCheck:
    """ECG contamination of one channel: ``score`` (autocorrelation peak at 40-180 bpm, None when the
    signal is too short to tell), ``heart_rate_bpm`` (None unless ``contaminated``)."""

    contaminated: bool
    heart_rate_bpm: float | None
    score: float | None


def detect_ecg(x_uv: np.ndarray, fs_hz: float, *, channels: Sequence[int] | None = None) -> list[EcgCheck | None]:
    """ECG check of finite ``x_uv`` (C, n): per channel an :class:`EcgCheck` (None for rows not in ``channels``).

    The 5-35 Hz band's envelope (50 Hz rate, tallest 1 % clipped, 1 s median removed) is autocorrelated;
    its peak at lags of 40-180 bpm must reach ECG_AUTOCORR_MIN and repeat at twice (>= 0.7 x) and three
    times (>= 0.5 x) the lag. Recordings longer than ECG_BLOCKS x ECG_BLOCK_S use that many spread-out
    blocks. ``channels``: rows to check (default: all)."""
    from scipy import signal as sps

    x = np.atleast_2d(np.asarray(x_uv, dtype=np.float64))
    fs = float(fs_hz)
    rows = list(range(x.shape[0])) if channels is None else list(channels)
    out: list[EcgCheck | None] = [None] * x.shape[0]
    if not rows:
        return out
    hi = min(35.0, 0.45 * fs)
    sos = sps.butter(2, (5.0, hi), btype="bandpass", fs=fs, output="sos")
    block = int(ECG_BLOCK_S * fs)
    n_blocks = x.shape[1] // block
    if n_blocks > ECG_BLOCKS:  # long recording: the heart beats all along, 5 spread-out minutes tell
        starts = np.linspace(0, x.shape[1] - block, ECG_BLOCKS).astype(np.int64)
        y = np.concatenate([sps.sosfiltfilt(sos, x[rows, s0 : s0 + block], axis=-1) for s0 in starts], axis=1)
    else:
        y = sps.sosfiltfilt(sos, x[rows], axis=-1)
    for k, c in enumerate(rows):
        out[c] = _ecg_periodicity(y[k], fs)
    return out


def _ecg_periodicity(y: np.ndarray, fs: float) -> EcgCheck:
    """Regular QRS-like spikes in ``y`` (one channel, already 5-35 Hz band-passed): autocorrelation of
    its envelope at 40-180 bpm, confirmed at twice and three times the lag."""
    from scipy.ndimage import median_filter

    step = max(1, int(fs // 50))
    e = np.abs(y)
    n50 = e.size // step
    e = e[: n50 * step].reshape(n50, step).mean(axis=1)  # 50 Hz envelope
    fs_e = fs / step
    if e.size < 5 * fs_e:
        return EcgCheck(False, None, None)
    # the QRS envelope is spiky: clip the tallest (movement) peaks so they do not dominate
    e = np.minimum(e, np.percentile(e, 99))
    e = e - median_filter(e, size=int(fs_e) | 1, mode="nearest")
    e = e - e.mean()
    nfft = 1 << int(np.ceil(np.log2(2 * e.size)))
    spec = np.fft.rfft(e, nfft)
    ac = np.fft.irfft(spec * np.conj(spec), nfft)[: e.size]
    if ac[0] <= 0:
        return EcgCheck(False, None, None)
    ac = ac / ac[0]
    lo, hi_lag = int(fs_e * 60 / 180), int(fs_e * 60 / 40)
    k = int(np.argmax(ac[lo:hi_lag])) + lo
    score = float(ac[k])
    # a true heart rhythm repeats: it also shows, nearly as strongly, at twice and three times the lag
    k2, k3 = 2 * k, 3 * k
    second = float(ac[k2 - 2 : k2 + 3].max()) if k2 + 3 < ac.size else 0.0
    third = float(ac[k3 - 2 : k3 + 3].max()) if k3 + 3 < ac.size else 0.0
    contaminated = score >= ECG_AUTOCORR_MIN and second >= 0.7 * score and third >= 0.5 * score
    return EcgCheck(bool(contaminated), 60.0 * fs_e / k if contaminated else None, score)


# --------------------------------------------------------------------------- the whole assessment


def assess_quality(
    x_uv: np.ndarray,
    fs_hz: float,
    *,
    mains_hz: float | None = 50,
    rail_uv: float | None = None,
    channel_names: Sequence[str] | None = None,
) -> list[dict]:
    """Quality summary for a recording ``x_uv`` (C, n) raw uV: a list with one dict per channel.

    ``rail_uv``: the board's ADC rail (None: railing is judged by the pinned-extremes rule of
    :func:`railed_mask`); ``mains_hz`` None: the larger of the 50 and 60 Hz shares, no notch.
    Keys: ``channel``, ``rms_uv`` (band-passed), ``nonfinite_fraction``, ``railed_fraction``,
    ``flat_fraction`` (share of consecutive samples unchanged), ``spike_count`` (jumps), ``mains_share``
    (fraction of 1 Hz+ power within +-1 Hz of the mains and its harmonics/aliases), ``lowfreq_share``
    (1-20 Hz power fraction: motion/ECG), ``ecg_score`` (0-1 autocorrelation of 5-35 Hz bursts at
    40-180 /min), ``heart_rate_bpm`` (NaN unless ECG is found), ``dc_offset_uv``, ``usable`` (bool) and
    ``problems`` (list of one-line strings).
    """
    from dsp.pipeline import emg_clean

    x = as_signal(x_uv)
    fs_hz = float(fs_hz)
    n_ch, n = x.shape
    names = list(channel_names) if channel_names is not None else [f"ch{i + 1}" for i in range(n_ch)]
    if len(names) != n_ch:
        raise SignalError(f"{len(names)} channel names for {n_ch} channels; pass one name per channel")
    if n < int(fs_hz):
        raise SignalError(f"recording is {n / fs_hz:.2f} s long; quality assessment needs at least 1 s")
    finite = np.isfinite(x)
    filled = fill_nonfinite(x)
    checks = [check_channel(filled[c], rail_uv=rail_uv, nonfinite_count=int(n - finite[c].sum())) for c in range(n_ch)]
    flags = flag_summary(sample_flags(x, fs_hz, [chk.rail_uv for chk in checks]))
    f, p = power_spectra(filled, fs_hz)
    ecg = detect_ecg(filled, fs_hz, channels=[c for c in range(n_ch) if checks[c].usable])
    clean = emg_clean(x, fs_hz, mains_hz=mains_hz)  # validates the rate and mains: raises before any report
    settle = min(int(0.5 * fs_hz), n // 4)
    out = []
    for c, chk in enumerate(checks):
        good = x[c][finite[c]]
        share, _ = mains_share(f, p[c], fs_hz, mains_hz)
        total = _band_power(f, p[c], 1.0, fs_hz / 2)
        heart = ecg[c] or EcgCheck(False, None, None)
        rep: dict = {
            "channel": names[c],
            "nonfinite_fraction": chk.nonfinite_fraction,
            "railed_fraction": chk.railed_fraction,
            "flat_fraction": chk.unchanged_fraction,
            "spike_count": int(flags.spike_count[c]),
            "dc_offset_uv": float(np.median(good)) if good.size else float("nan"),
            "rms_uv": float(np.sqrt(np.mean(clean[c, settle:] ** 2))),
            "mains_share": float(share or 0.0),
            "lowfreq_share": _band_power(f, p[c], 1.0, 20.0) / total if total > 0 else 0.0,
            "ecg_score": max(0.0, heart.score or 0.0),
            "heart_rate_bpm": heart.heart_rate_bpm if heart.heart_rate_bpm is not None else float("nan"),
        }
        problems = []
        if chk.nonfinite_fraction > 0:
            problems.append(f"{100 * chk.nonfinite_fraction:.1f} % of samples are NaN/inf (data loss)")
        if chk.status != "ok":
            problems.append(chk.reason)
        if rep["mains_share"] > 0.5:
            problems.append(
                f"mains interference is {100 * rep['mains_share']:.0f} % of the power: check skin "
                "preparation and electrode contact"
            )
        if heart.contaminated:
            problems.append(
                f"ECG contamination (heart rate about {heart.heart_rate_bpm:.0f}/min): use "
                "near_heart=True (30 Hz high-pass)"
            )
        if rep["spike_count"] > max(3, n / fs_hz / 10):
            problems.append(f"{rep['spike_count']} jumps: motion or cable artefacts, secure the cables")
        rep["usable"] = chk.usable
        rep["problems"] = problems
        out.append(rep)
    return out
