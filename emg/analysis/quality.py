"""Signal-quality checks of the offline analysis: flat, railed, NaN, mains, ECG, dropped packets.

Each works on raw (C, n) microvolts (NaNs already interpolated where noted) and returns plain
dicts that go into the analysis JSON (docs/ANALYSIS_JSON.md, ``channels[].quality`` and ``quality``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import signal as sps

from emg import _dsp_adapter as dspa
from emg.analysis.rounding import rounded
from emg.recordings.recording import Recording


#: ADS1299 rail at gain 24 in microvolts (Cyton); scaled by 24/gain when a gain is known.
CYTON_RAIL_UV_GAIN24 = 187_500.0


#: Channel share of samples at the rail above which the channel is called railed.
RAILED_FRACTION = 0.01


#: ECG: autocorrelation peak of the QRS-band envelope between 40 and 180 bpm above this -> contaminated.
ECG_AUTOCORR_MIN = 0.35


#: ECG check of long recordings: this many blocks of ECG_BLOCK_S seconds spread over the file.
ECG_BLOCKS = 5


ECG_BLOCK_S = 60.0


#: Mains/spectrum of long recordings: at most this many 4 s segments, spread over the file.
SPECTRUM_MAX_SEGMENTS = 256


def _fill_nonfinite(raw: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Replace NaN/inf by linear interpolation of the neighbours (whole-NaN channels -> 0)."""
    if not mask.any():
        return raw.copy()
    out = raw.copy()
    for c in np.flatnonzero(mask.any(axis=1)):
        good = ~mask[c]
        if not good.any():
            out[c] = 0.0
            continue
        x = np.arange(raw.shape[1])
        out[c, ~good] = np.interp(x[~good], x[good], raw[c, good])
    return out


def _rail_uv(rec: Recording) -> float | None:
    if isinstance(rec.meta.get("rail_uv"), (int, float)) and rec.meta["rail_uv"] > 0:
        return float(rec.meta["rail_uv"])
    gains = rec.meta.get("gains")
    name = str(rec.meta.get("board_name", "")).lower()
    if "cyton" in name or rec.meta.get("board_id") in (0, 2):
        g = float(gains[0]) if isinstance(gains, list) and gains else 24.0
        return CYTON_RAIL_UV_GAIN24 * 24.0 / g
    return None


def _basic_checks(x: np.ndarray, nan_count: int, n: int, rail_uv: float | None, raw_has_all_nan: bool
                  ) -> dict[str, Any]:
    """Flat / disconnected / railed / NaN checks on one raw channel."""
    q: dict[str, Any] = {"nan_samples": int(nan_count), "nan_fraction": rounded(nan_count / n, 6)}
    lo, hi = float(np.min(x)), float(np.max(x))
    ptp = hi - lo
    diffs = np.diff(x)
    still = float(np.mean(diffs == 0)) if diffs.size else 1.0
    q["peak_to_peak"] = rounded(ptp)
    q["flat"] = bool(raw_has_all_nan or ptp == 0.0 or still > 0.98)
    # railed: samples at the board's rail, or pinned at the extremes for long runs
    if rail_uv:
        at_rail = np.abs(x) >= 0.999 * rail_uv
    else:
        at_rail = ((x == hi) | (x == lo)) if ptp > 0 else np.zeros_like(x, dtype=bool)
        if at_rail.mean() < RAILED_FRACTION or not _long_runs(at_rail, max(8, n // 1000)):
            at_rail = np.zeros_like(at_rail)
    q["railed_fraction"] = rounded(float(at_rail.mean()), 6)
    q["railed"] = bool(q["railed_fraction"] >= RAILED_FRACTION)
    q["disconnected"] = bool(q["flat"] or q["railed_fraction"] > 0.5)
    if raw_has_all_nan:
        return {"status": "no-data", "reason": "every sample is NaN/inf: the channel carried no data", "quality": q}
    if q["flat"]:
        val = float(np.median(x))
        why = (f"flat channel (all samples {val:g}): electrode not connected or channel unused" if ptp == 0
               else f"flat channel ({still:.0%} of samples unchanged): electrode not connected or channel unused")
        return {"status": "flat", "reason": why, "quality": q}
    if q["railed_fraction"] > 0.5:
        return {"status": "disconnected",
                "reason": f"railed for {q['railed_fraction']:.0%} of the recording: lead off or electrode not "
                          "touching the skin", "quality": q}
    if nan_count > 0.5 * n:
        return {"status": "no-data", "reason": f"{nan_count / n:.0%} of the samples are NaN/inf", "quality": q}
    if q["railed"]:
        return {"status": "railed-partly", "reason": f"railed for {q['railed_fraction']:.1%} of the recording "
                "(those spells may hide activations)", "quality": q}
    return {"status": "ok", "reason": "", "quality": q}


def _long_runs(mask: np.ndarray, min_len: int) -> bool:
    idx = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return bool(np.any(idx[1::2] - idx[0::2] >= min_len)) if idx.size else False


def _spectra(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectra (f (m,), p (C, m)) at 0.25 Hz resolution, mean removed per segment."""
    nper = int(min(x.shape[1], round(4 * fs)))
    n_seg = x.shape[1] // nper
    if n_seg > 64:  # long recordings: non-overlapping Hann segments in one batched FFT (Welch, 0 % overlap)
        seg = x[:, : n_seg * nper].reshape(x.shape[0], n_seg, nper)
        if n_seg > SPECTRUM_MAX_SEGMENTS:
            seg = seg[:, np.linspace(0, n_seg - 1, SPECTRUM_MAX_SEGMENTS).astype(np.int64)]
        seg = seg - seg.mean(axis=2, keepdims=True)
        win = np.hanning(nper)
        p = (np.abs(np.fft.rfft(seg * win, axis=2)) ** 2).mean(axis=1) / (fs * np.sum(win ** 2))
        p[:, 1:-1] *= 2.0
        return np.fft.rfftfreq(nper, 1.0 / fs), p
    f, p = sps.welch(x, fs=fs, nperseg=nper, detrend="constant", axis=-1)
    return f, p


def _choose_mains(rec: Recording, spectra: tuple[np.ndarray, np.ndarray], usable: list[bool],
                  option: float | None, fs: float) -> tuple[float | None, str]:
    if option is not None:
        return (float(option) if option else None), ("option" if option else "option (no notches)")
    filt = rec.meta.get("filters")
    if isinstance(filt, dict) and filt.get("mains_hz"):
        return float(filt["mains_hz"]), "recording"
    if rec.meta.get("mains_hz"):
        return float(rec.meta["mains_hz"]), "recording"
    f, p_all = spectra
    rows = [c for c in range(p_all.shape[0]) if usable[c]] or list(range(p_all.shape[0]))
    score = {}
    for mains in (50.0, 60.0):
        # line-to-neighbourhood power ratio at the fundamental and 2 harmonics (or their aliases),
        # per channel; the channel where it stands out most decides (EMG can hide it elsewhere)
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
        return best, "detected"
    # no line in the data: no notch (a zero-phase notch rings before strong onsets and moves them early)
    return None, "none found in the data"


def _mains_share(spectra: tuple[np.ndarray, np.ndarray], c: int, mains_hz: float | None, fs: float) -> dict:
    """Share of the raw power (above 1 Hz) within +-1 Hz of the mains lines; without a known mains
    frequency, the larger of the 50 Hz and 60 Hz shares."""
    f, p = spectra
    pc = p[c]
    keep = f >= 1.0
    total = float(pc[keep].sum())
    if total <= 0:
        return {"mains_share": None, "mains_lines_hz": []}
    best: dict[str, Any] = {"mains_share": -1.0}
    for mains in ([mains_hz] if mains_hz else [50.0, 60.0]):
        lines = dspa.mains_notches_hz(fs, mains, (1.0, fs / 2 - 1))
        m = np.zeros_like(f, dtype=bool)
        for fl in lines:
            m |= (f >= fl - 1.0) & (f <= fl + 1.0)
        share = float(pc[m & keep].sum()) / total
        if share > best["mains_share"]:
            best = {"mains_share": share, "mains_lines_hz": lines}
    best["mains_share"] = rounded(best["mains_share"], 4)
    return best


def _ecg_checks(x: np.ndarray, fs: float, usable: list[bool]) -> list[dict[str, Any] | None]:
    """ECG check of every usable channel of ``x`` (C, n); None for the others."""
    rows = [c for c in range(x.shape[0]) if usable[c]]
    out: list[dict[str, Any] | None] = [None] * x.shape[0]
    if not rows:
        return out
    hi = min(35.0, 0.45 * fs)
    sos = sps.butter(2, (5.0, hi), btype="bandpass", fs=fs, output="sos")
    block = int(ECG_BLOCK_S * fs)
    n_blocks = x.shape[1] // block
    if n_blocks > ECG_BLOCKS:  # long recording: the heart beats all along, 5 spread-out minutes tell
        starts = np.linspace(0, x.shape[1] - block, ECG_BLOCKS).astype(np.int64)
        y = np.concatenate([sps.sosfiltfilt(sos, x[rows, s0:s0 + block], axis=-1) for s0 in starts], axis=1)
    else:
        y = sps.sosfiltfilt(sos, x[rows], axis=-1)
    for k, c in enumerate(rows):
        out[c] = _ecg_check(y[k], fs)
    return out


def _ecg_check(y: np.ndarray, fs: float) -> dict[str, Any]:
    """Regular QRS-like spikes in ``y`` (one channel, already 5-35 Hz band-passed): autocorrelation of
    its envelope at 40-180 bpm, confirmed at twice the lag."""
    from scipy.ndimage import median_filter

    step = max(1, int(fs // 50))
    e = np.abs(y)
    n50 = e.size // step
    e = e[: n50 * step].reshape(n50, step).mean(axis=1)  # 50 Hz envelope
    fs_e = fs / step
    if e.size < 5 * fs_e:
        return {"contaminated": False, "heart_rate_bpm": None, "score": None}
    # the QRS envelope is spiky: clip the tallest (movement) peaks so they do not dominate
    e = np.minimum(e, np.percentile(e, 99))
    e = e - median_filter(e, size=int(fs_e) | 1, mode="nearest")
    e = e - e.mean()
    nfft = 1 << int(np.ceil(np.log2(2 * e.size)))
    spec = np.fft.rfft(e, nfft)
    ac = np.fft.irfft(spec * np.conj(spec), nfft)[: e.size]
    if ac[0] <= 0:
        return {"contaminated": False, "heart_rate_bpm": None, "score": None}
    ac = ac / ac[0]
    lo, hi_lag = int(fs_e * 60 / 180), int(fs_e * 60 / 40)
    seg = ac[lo:hi_lag]
    k = int(np.argmax(seg)) + lo
    score = float(ac[k])
    # a true heart rhythm repeats: it also shows, nearly as strongly, at twice and three times the lag
    k2, k3 = 2 * k, 3 * k
    second = float(ac[k2 - 2:k2 + 3].max()) if k2 + 3 < ac.size else 0.0
    third = float(ac[k3 - 2:k3 + 3].max()) if k3 + 3 < ac.size else 0.0
    contaminated = score >= ECG_AUTOCORR_MIN and second >= 0.7 * score and third >= 0.5 * score
    return {"contaminated": bool(contaminated), "heart_rate_bpm": rounded(60.0 * fs_e / k, 1) if contaminated else None,
            "score": rounded(score, 3)}


def _recording_quality(rec: Recording, fs: float) -> dict[str, Any]:
    out: dict[str, Any] = {"dropped_packets": None, "dropped_fraction": None, "timestamp_rate_hz": None,
                           "flags": []}
    pk = rec.package_num
    if pk is not None and pk.size > 1 and np.all(np.isfinite(pk)):
        pk = pk.astype(np.int64)
        mod = int(pk.max()) + 1
        step = np.diff(pk) % mod if mod > 1 else np.zeros(pk.size - 1, dtype=np.int64)
        gaps = step[step != 1]
        lost = int(np.sum((gaps - 1) % mod)) if gaps.size else 0
        out["dropped_packets"] = lost
        out["dropped_fraction"] = rounded(lost / (lost + pk.size), 6)
        if lost:
            out["flags"].append(f"{lost} dropped packet(s) (package counter gaps)")
    ts = rec.timestamps
    if ts is not None and ts.size > 10 and np.all(np.isfinite(ts)):
        span = float(ts[-1] - ts[0])
        if span > 0:
            rate = (ts.size - 1) / span
            out["timestamp_rate_hz"] = rounded(rate, 3)
            if abs(rate - fs) > 0.05 * fs:
                out["flags"].append(f"timestamps give {rate:.1f} Hz but the file says {fs:g} Hz: "
                                    "the stated rate (or the sidecar) disagrees with the data")
    return out
