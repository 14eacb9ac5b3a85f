"""Batch quality assessment of a recording, per channel (arrays in, dicts out).

Mains share, railing, flat spells, spikes, ECG contamination, with one-line problems a user can act on.
"""

from __future__ import annotations

import numpy as np

from dsp._chain import as_signal
from dsp.errors import SignalError
from dsp.quality.flags import _FLAT, _RAILED, _SPIKE, QualityMonitor


def _band_power(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    m = (f >= lo) & (f <= hi)
    return float(p[m].sum())


def assess_quality(
    x_uv,
    fs_hz: float,
    *,
    mains_hz: float | None = 50,
    rail_uv: float | None = None,
    channel_names=None,
) -> list[dict]:
    """Quality summary for a recording (C, n) raw uV: a list with one dict per channel.

    Keys: ``channel``, ``rms_uv`` (band-passed), ``nonfinite_fraction``, ``railed_fraction``,
    ``flat_fraction``, ``spike_count`` (jumps), ``mains_share`` (fraction of 1 Hz+ power within +-1 Hz of the
    mains and its harmonics/aliases), ``lowfreq_share`` (1-20 Hz power fraction: motion/ECG),
    ``ecg_score`` (0-1 periodicity of 5-35 Hz bursts at 40-180 /min), ``heart_rate_bpm`` (if ECG seen),
    ``dc_offset_uv``, ``usable`` (bool) and ``problems`` (list of one-line strings).
    """
    from scipy import signal

    from dsp.design import design_filters, mains_aliases
    from dsp.pipeline import emg_clean

    x = as_signal(x_uv)
    fs_hz = float(fs_hz)
    n_ch, n = x.shape
    names = list(channel_names) if channel_names is not None else [f"ch{i + 1}" for i in range(n_ch)]
    if len(names) != n_ch:
        raise SignalError(f"{len(names)} channel names for {n_ch} channels; pass one name per channel")
    if n < int(fs_hz):
        raise SignalError(f"recording is {n / fs_hz:.2f} s long; quality assessment needs at least 1 s")
    monitor = QualityMonitor(fs_hz, n_ch, rail_uv)
    flags = monitor.update(x)
    design = design_filters(fs_hz, mains_hz=mains_hz)
    clean = emg_clean(x, fs_hz, mains_hz=mains_hz)
    settle = min(int(0.5 * fs_hz), n // 4)
    out = []
    for c in range(n_ch):
        row = x[c]
        finite = np.isfinite(row)
        fl = flags[c]
        rep: dict = {"channel": names[c]}
        rep["nonfinite_fraction"] = float(1.0 - finite.mean())
        rep["railed_fraction"] = float(((fl & _RAILED) > 0).mean())
        rep["flat_fraction"] = float(((fl & _FLAT) > 0).mean())
        spikes = (fl & _SPIKE) > 0
        rep["spike_count"] = int(np.count_nonzero(spikes[1:] & ~spikes[:-1]) + int(spikes[0]))
        good = row[finite]
        rep["dc_offset_uv"] = float(np.median(good)) if good.size else float("nan")
        rep["rms_uv"] = float(np.sqrt(np.mean(clean[c, settle:] ** 2)))
        raw = np.where(finite, row, rep["dc_offset_uv"] if good.size else 0.0)
        nper = int(min(n, 2 ** int(np.floor(np.log2(max(8, 2 * fs_hz))))))
        f, p = signal.welch(raw - raw.mean(), fs=fs_hz, nperseg=nper)
        total = _band_power(f, p, 1.0, fs_hz / 2) or 1e-300
        mains_p = 0.0
        if mains_hz is not None:
            for mf in mains_aliases(fs_hz, float(mains_hz), (1.0, fs_hz / 2)):
                mains_p += _band_power(f, p, mf - 1.0, mf + 1.0)
        rep["mains_share"] = float(mains_p / total)
        rep["lowfreq_share"] = float(_band_power(f, p, 1.0, 20.0) / total)
        rep["ecg_score"], rep["heart_rate_bpm"] = _ecg_score(raw, fs_hz)
        problems = []
        if rep["nonfinite_fraction"] > 0:
            problems.append(f"{100 * rep['nonfinite_fraction']:.1f} % of samples are NaN/inf (data loss)")
        if rep["railed_fraction"] > 0.001:
            problems.append(f"railed {100 * rep['railed_fraction']:.1f} % of the time: electrode off or gain too high")
        if rep["flat_fraction"] > 0.01:
            problems.append(f"flat {100 * rep['flat_fraction']:.1f} % of the time: channel disconnected or powered down")
        if rep["mains_share"] > 0.5:
            problems.append(f"mains interference is {100 * rep['mains_share']:.0f} % of the power: check skin preparation and electrode contact")
        if rep["ecg_score"] > 0.5:
            problems.append(f"ECG contamination (heart rate about {rep['heart_rate_bpm']:.0f}/min): use near_heart=True (30 Hz high-pass)")
        if rep["spike_count"] > max(3, n / fs_hz / 10):
            problems.append(f"{rep['spike_count']} jumps: motion or cable artefacts, secure the cables")
        rep["usable"] = not any(s.startswith(("railed", "flat")) for s in problems) and rep["nonfinite_fraction"] < 0.05
        rep["problems"] = problems
        out.append(rep)
    _ = design  # the design is validated above: an impossible rate raises before any work
    return out


def _ecg_score(raw: np.ndarray, fs_hz: float) -> tuple[float, float]:
    """Periodicity (0-1) of the 5-35 Hz band's envelope at heart-rate lags (40-180 /min), and that rate."""
    from scipy import signal

    if raw.shape[0] < int(4 * fs_hz):
        return 0.0, float("nan")
    hi = min(35.0, 0.45 * fs_hz)
    sos = signal.butter(2, [5.0, hi], btype="bandpass", output="sos", fs=fs_hz)
    y = signal.sosfiltfilt(sos, raw)
    env_sos = signal.butter(2, 8.0, output="sos", fs=fs_hz)
    e = signal.sosfiltfilt(env_sos, np.abs(y))
    e = e - e.mean()
    denom = float(np.dot(e, e))
    if denom <= 0:
        return 0.0, float("nan")
    nfft = 1 << int(np.ceil(np.log2(2 * e.shape[0])))
    spec = np.fft.rfft(e, nfft)
    ac = np.fft.irfft(spec * np.conj(spec), nfft)[: e.shape[0]] / denom
    lo = int(fs_hz * 60 / 180)
    hi_lag = min(int(fs_hz * 60 / 40), ac.shape[0] - 1)
    if hi_lag <= lo:
        return 0.0, float("nan")
    # a heartbeat shows as a local maximum of the autocorrelation at the beat interval, standing out
    # from its surroundings (a slowly varying level only gives a monotone decay from lag 0)
    peaks, props = signal.find_peaks(ac[lo - 1: hi_lag + 1], prominence=0.05)
    if peaks.size == 0:
        return 0.0, float("nan")
    best = int(np.argmax(ac[lo - 1 + peaks]))
    k = lo - 1 + int(peaks[best])
    score = float(max(0.0, min(ac[k], props["prominences"][best] * 2.0)))
    return score, (60.0 * fs_hz / k if score > 0 else float("nan"))
