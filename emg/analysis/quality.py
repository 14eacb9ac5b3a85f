"""The recording-level side of the analysis' quality checks; the checks themselves are dsp's
(:mod:`dsp.quality.assessment`).

Here: the ADC rail of the recording's board (sidecar ``rail_uv``, else the board preset at the recorded
gain), the mains frequency (option, sidecar, else detected in the data), the dropped-packet count from the
package numbers and the timestamp rate, and the JSON form of a channel check (docs/ANALYSIS_JSON.md,
``channels[].quality`` and ``quality``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dsp.quality.assessment import ChannelCheck, EcgCheck, detect_mains_hz
from emg.acquire.boards import PRESETS, BoardPreset, preset_for_board_id
from emg.acquire.packets import PackageGaps, package_gaps
from emg.analysis.rounding import rounded
from emg.errors import ConfigError
from emg.recordings.recording import Recording


def recording_rail_uv(rec: Recording) -> float | None:
    """The ADC rail (uV) of the board ``rec`` was recorded with: the sidecar's ``rail_uv``, else the board's
    preset (by ``board_id``, else by a preset name inside ``board_name``) at the first channel's gain;
    None when the board is unknown or has no fixed rail."""
    rail = rec.meta.get("rail_uv")
    if isinstance(rail, (int, float)) and not isinstance(rail, bool) and rail > 0:
        return float(rail)
    preset = _recording_preset(rec)
    if preset is None:
        return None
    gains = rec.meta.get("gains")
    gain = gains[0] if isinstance(gains, list) and gains and isinstance(gains[0], (int, float)) else None
    return preset.rail_for_gain(gain or None)


def _recording_preset(rec: Recording) -> BoardPreset | None:
    board_id = rec.meta.get("board_id")
    if isinstance(board_id, int) and not isinstance(board_id, bool):
        try:
            return preset_for_board_id(board_id)
        except ConfigError:
            pass
    name = str(rec.meta.get("board_name") or "").lower()
    # OpenBCI GUI files name the board (``...BoardCytonSerial``); the longest preset name found wins
    found = [p for p in PRESETS.values() if not p.needs_file and p.name in name]
    return max(found, key=lambda p: len(p.name)) if found else None


def choose_mains(
    rec: Recording, spectra: tuple[np.ndarray, np.ndarray], usable: Sequence[bool], option: float | None, fs: float
) -> tuple[float | None, str]:
    """(mains Hz or None, where it came from): the option (0: no notches), the sidecar's ``filters.mains_hz``
    or ``mains_hz``, else a 50/60 Hz line found in the usable channels' ``spectra`` (f (m,), psd (C, m))."""
    if option is not None:
        return (float(option) if option else None), ("option" if option else "option (no notches)")
    filt = rec.meta.get("filters")
    if isinstance(filt, dict) and filt.get("mains_hz"):
        return float(filt["mains_hz"]), "recording"
    if rec.meta.get("mains_hz"):
        return float(rec.meta["mains_hz"]), "recording"
    f, psd = spectra
    found = detect_mains_hz(f, psd, fs, channels=[c for c, ok in enumerate(usable) if ok])
    if found is not None:
        return found, "detected"
    # no line in the data: no notch (a zero-phase notch rings before strong onsets and moves them early)
    return None, "none found in the data"


def check_json(check: ChannelCheck) -> dict[str, Any]:
    """``channels[].quality``'s flat / railed / NaN keys of one :class:`ChannelCheck`."""
    return {
        "nan_samples": check.nonfinite_count,
        "nan_fraction": rounded(check.nonfinite_fraction, 6),
        "peak_to_peak": rounded(check.peak_to_peak_uv),
        "flat": check.flat,
        "railed_fraction": rounded(check.railed_fraction, 6),
        "railed": check.railed,
        "disconnected": check.disconnected,
    }


def ecg_json(check: EcgCheck | None) -> dict[str, Any]:
    """``channels[].quality.ecg`` of one channel (not checked: not contaminated, no score)."""
    if check is None:
        return {"contaminated": False, "heart_rate_bpm": None, "score": None}
    return {
        "contaminated": check.contaminated,
        "heart_rate_bpm": rounded(check.heart_rate_bpm, 1),
        "score": rounded(check.score, 3),
    }


def recording_package_gaps(rec: Recording) -> PackageGaps | None:
    """Where packets were lost in ``rec``, from its package counter (wrapping as its board's does, else at the
    largest number seen); None when the recording has no complete counter."""
    pk = rec.package_num
    if pk is None or pk.size < 2 or not np.all(np.isfinite(pk)):
        return None
    preset = _recording_preset(rec)
    modulo = preset.package_num_max + 1 if preset is not None else int(pk.max()) + 1
    return package_gaps(pk, modulo=modulo) if modulo >= 2 else None


def recording_quality(rec: Recording, fs: float) -> dict[str, Any]:
    """The analysis JSON's recording-wide ``quality``: dropped packets (gaps in the package counter) and the
    rate the timestamps give, with one-line flags."""
    out: dict[str, Any] = {"dropped_packets": None, "dropped_fraction": None, "timestamp_rate_hz": None, "flags": []}
    gaps = recording_package_gaps(rec)
    if gaps is not None:
        lost = gaps.total
        out["dropped_packets"] = lost
        out["dropped_fraction"] = rounded(lost / (lost + rec.package_num.size), 6)
        if lost:
            out["flags"].append(f"{lost} dropped packet(s) (package counter gaps)")
    ts = rec.timestamps
    if ts is not None and ts.size > 10 and np.all(np.isfinite(ts)):
        span = float(ts[-1] - ts[0])
        if span > 0:
            rate = (ts.size - 1) / span
            out["timestamp_rate_hz"] = rounded(rate, 3)
            if abs(rate - fs) > 0.05 * fs:
                out["flags"].append(
                    f"timestamps give {rate:.1f} Hz but the file says {fs:g} Hz: "
                    "the stated rate (or the sidecar) disagrees with the data"
                )
    return out
