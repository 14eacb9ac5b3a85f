"""Load a recording for export, and describe it (device, filters, channel labels, units).

:func:`load_for_export` reads anything :func:`emg.recordings.readers.read_recording` reads. A BrainFlow file
whose JSON sidecar is missing (copied alone, or from another program) is read too, but only when
the user says what it is: ``fs_hz`` (``--fs``) and, where the column count does not name the board,
``board`` (``--board``) so the EMG rows are known.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from emg.errors import ConfigError, RecordingError
from emg.recordings.recording import Event, Recording

log = logging.getLogger(__name__)


def load_for_export(path: str | Path, fs_hz: float | None = None, board: str | None = None) -> Recording:
    """The recording at ``path`` as a :class:`Recording` (channels x samples, uV).

    A ``.csv`` in BrainFlow's format without its ``.json`` sidecar needs ``fs_hz`` (RecordingError
    asking for ``--fs`` otherwise) and ``board`` when the column count fits several boards.
    """
    p = Path(path)
    if p.suffix.lower() == ".json" and p.with_suffix(".csv").exists():
        p = p.with_suffix(".csv")
    if not p.exists() and p.with_name(p.name + ".csv").exists():  # "recordings/s1" for s1.csv + s1.json
        p = p.with_name(p.name + ".csv")
    if not p.exists():
        raise RecordingError(f"recording not found: {p} (check the path)")
    if p.is_file() and p.suffix.lower() == ".csv" and not p.with_suffix(".json").exists():
        columns = _brainflow_columns(p)
        if columns is not None:
            return _read_bare_brainflow(p, columns, fs_hz, board)
    from emg.recordings.readers import read_recording

    return read_recording(p, fs_hz=fs_hz)


def _brainflow_columns(p: Path) -> int | None:
    """Column count when ``p`` looks like a BrainFlow file (tab-separated numbers, no header)."""
    try:
        with p.open("r", encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError:
        return None
    parts = first.rstrip("\r\n").split("\t")
    if len(parts) < 4:
        return None
    try:
        [float(x) for x in parts]
    except ValueError:
        return None
    return len(parts)


def _read_bare_brainflow(p: Path, columns: int, fs_hz: float | None, board: str | None) -> Recording:
    from emg.acquire.boards import PRESETS, get_preset

    side = p.with_suffix(".json")
    fitting = [b for b in PRESETS.values() if b.num_rows == columns and not b.needs_file]
    if fs_hz is None:
        raise RecordingError(
            f"{p} has no sidecar {side.name}, so its sampling rate is unknown: "
            f"pass --fs HZ (e.g. --fs 250){' and --board NAME' if len(fitting) != 1 else ''}"
        )
    if not (math.isfinite(fs_hz) and fs_hz > 0):
        raise ConfigError(f"bad sampling rate --fs {fs_hz}: give a positive rate in Hz, e.g. --fs 250")
    if board:
        preset = get_preset(board)
        if preset.num_rows != columns:
            raise RecordingError(
                f"{p} has {columns} columns but board {preset.name} writes {preset.num_rows}; "
                "pick the board that recorded it with --board"
            )
    elif len(fitting) == 1:
        preset = fitting[0]
    else:
        names = ", ".join(b.name for b in fitting) or "none of the known boards"
        raise RecordingError(
            f"{p} has no sidecar and {columns} columns, which fits {names}: "
            "say which board recorded it with --board NAME"
        )
    try:
        rows = np.loadtxt(p, delimiter="\t", dtype=np.float64, ndmin=2).T
    except ValueError as err:
        raise RecordingError(
            f"{p} is not a complete BrainFlow file ({err}); cut the damaged last line or re-record"
        ) from None
    if rows.shape[1] == 0:
        raise RecordingError(f"{p} holds no samples")
    names = preset.channel_names()
    ts = rows[preset.timestamp_row].copy()
    start = datetime.fromtimestamp(float(ts[0]), tz=UTC).isoformat() if ts.size and ts[0] > 1e8 else None
    meta = {
        "board_name": preset.name,
        "board_id": preset.board_id,
        "sampling_rate": float(fs_hz),
        "units": {"exg": "uV"},
        "start_time": start,
        "sidecar": "missing (rate and board given by the user)",
    }
    log.warning("%s has no sidecar: read as %s at %g Hz with no events", p, preset.name, fs_hz)
    return Recording(
        data_uv=rows[list(preset.exg_rows)].copy(),
        fs_hz=float(fs_hz),
        channel_names=names,
        timestamps=ts,
        accel=rows[list(preset.accel_rows)].copy() if preset.accel_rows else None,
        package_num=rows[preset.package_num_row].copy(),
        source_format="brainflow (no sidecar)",
        path=p,
        meta=meta,
    )


# --------------------------------------------------------------------------- description


#: ADS1299 sinc^3 decimation: -3 dB at 0.262 x the output data rate (datasheet), 250 SPS on the Cyton.
_ADS1299 = {"ADS1299 sinc3 decimation filter": {"-3 dB cutoff (Hz)": 65.5, "ADC data rate (SPS)": 250}}

_DEVICES = {  # manufacturer, model, hardware filters, EDF prefilter, EDF equipment (short, no spaces)
    "cyton": ("OpenBCI", "Cyton (ADS1299)", _ADS1299, "LP:65.5Hz sinc3 (ADS1299)", "OpenBCI_Cyton"),
    "cyton-daisy": (
        "OpenBCI",
        "Cyton + Daisy (2x ADS1299)",
        _ADS1299,
        "LP:65.5Hz sinc3 (ADS1299)",
        "OpenBCI_Cyton+Daisy",
    ),
    "ganglion": ("OpenBCI", "Ganglion (MCP3912)", "n/a", "", "OpenBCI_Ganglion"),
    "synthetic": ("BrainFlow", "synthetic board (simulated data)", "n/a", "none (simulated)", "BrainFlow_synthetic"),
}
_BOARD_IDS = {0: "cyton", 2: "cyton-daisy", 1: "ganglion", -1: "synthetic"}


@dataclass
class DeviceInfo:
    """What is known about the amplifier: for headers and sidecars."""

    board: str  # preset name, "lsl:NAME", or what the file says
    manufacturer: str
    model: str
    hardware_filters: dict | str  # BIDS HardwareFilters object or "n/a"
    prefilter: str  # EDF prefilter text for the hardware path ("" when unknown)
    gains: list[Any]
    short: str = ""  # EDF+ equipment sub-field

    def equipment(self) -> str:
        """EDF+ equipment sub-field: short, no spaces (the 80-character header is shared)."""
        text = self.short or (f"{self.manufacturer}_{self.model}" if self.manufacturer else self.model)
        return edf_token(text or self.board or "unknown")[:32]


def device_info(rec: Recording) -> DeviceInfo:
    """Device description from the recording's sidecar / header."""
    meta = rec.meta or {}
    board = str(meta.get("board_name") or "")
    if not board and isinstance(meta.get("board_id"), int):
        board = _BOARD_IDS.get(meta["board_id"], "")
    if board == "playback" and isinstance(meta.get("master_board_id"), int):
        board = _BOARD_IDS.get(meta["master_board_id"], board)
    gains = meta.get("gains") or []
    if not isinstance(gains, list):
        gains = [gains]
    key = board.lower()
    if key not in _DEVICES and not key.startswith("lsl:"):  # e.g. OpenBCI GUI "OpenBCI_GUI$BoardCytonSerial"
        key = next(
            (
                k
                for k in ("cyton-daisy", "cyton", "ganglion")
                if all(part in key.replace("_", "-") for part in k.split("-"))
            ),
            key,
        )
        if key in _DEVICES:
            board = key
    if key in _DEVICES:
        man, model, hw, pre, short = _DEVICES[key]
        return DeviceInfo(board, man, model, hw, pre, gains, short)
    if key.startswith("lsl:"):
        return DeviceInfo(board, "", f"Lab Streaming Layer stream {board[4:]}", "n/a", "", gains, f"LSL_{board[4:]}")
    equipment = str(meta.get("equipment") or meta.get("board") or board or "unknown")
    prefilter = meta.get("prefilter")
    pre = prefilter[0] if isinstance(prefilter, list) and prefilter else (prefilter or "")
    return DeviceInfo(board or equipment, "", equipment, "n/a", str(pre), gains)


def live_filter_text(rec: Recording) -> str:
    """The filters the live session used (they are NOT applied to the exported raw data)."""
    f = (rec.meta or {}).get("filters")
    if not f:
        cal = (rec.meta or {}).get("calibration")
        if isinstance(cal, dict):
            f = cal.get("filters") or (cal.get("meta") or {}).get("filters")
    if isinstance(f, dict):  # the session writes {"design": FilterDesign.describe(), "envelope", "mains_hz"}
        text = f.get("design") or f.get("description") or f.get("describe")
        return str(text or json.dumps(f, separators=(",", ":")))
    return str(f) if f else ""


def compact_filter_text(text: str) -> str:
    """``"band-pass 20-100 Hz (Butterworth 4), notches 50, 100 Hz"`` -> ``"BP20-100Hz,N50,100Hz"``."""
    t = re.sub(r"\([^)]*\)", "", text)
    t = re.sub(r"band-?pass\s*", "BP", t, flags=re.I)
    t = re.sub(r"high-?pass\s*", "HP", t, flags=re.I)
    t = re.sub(r"low-?pass\s*", "LP", t, flags=re.I)
    t = re.sub(r"notch(es)?\s*", "N", t, flags=re.I)
    t = re.sub(r"\s*Hz", "Hz", t)
    t = re.sub(r"\s*,\s*", ",", t)
    return re.sub(r"\s+", "_", t.strip(" ,;"))


def clean_rate(fs_hz: float) -> float:
    """``250.00000000000003`` -> ``250.0``: a rate within 1 ppm of a whole number is that number."""
    fs = float(fs_hz)
    nearest = round(fs)
    return float(nearest) if nearest > 0 and abs(fs - nearest) <= 1e-6 * fs else fs


def mains_hz(rec: Recording, default: float | None = None) -> float | None:
    """The power-line frequency the session used, where the sidecar says it."""
    meta = rec.meta or {}
    for key in ("mains_hz", "power_line_hz"):
        if isinstance(meta.get(key), (int, float)):
            return float(meta[key])
    f = meta.get("filters")
    if isinstance(f, dict) and isinstance(f.get("mains_hz"), (int, float)):
        return float(f["mains_hz"])
    return default


def data_unit(rec: Recording) -> str:
    """The unit of ``rec.data_uv``: "uV" unless the reader says otherwise (e.g. "counts")."""
    units = (rec.meta or {}).get("units")
    if isinstance(units, dict):
        units = units.get("exg", "uV")
    if isinstance(units, str) and units.strip().lower() in ("counts", "count", "adc"):
        return "counts"
    return "uV"


def start_datetime(rec: Recording) -> datetime | None:
    """Recording start as an aware datetime (UTC where the sidecar gives no zone), or None."""
    text = (rec.meta or {}).get("start_time")
    if isinstance(text, str) and text:
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        except ValueError:
            pass
    if rec.timestamps is not None and len(rec.timestamps) and rec.timestamps[0] > 1e8:
        return datetime.fromtimestamp(float(rec.timestamps[0]), tz=UTC)
    return None


def muscles_of(rec: Recording) -> list[str]:
    """One muscle label per channel ("" where unknown)."""
    muscles = [str(m or "") for m in (rec.muscles or (rec.meta or {}).get("muscles") or [])]
    return (muscles + [""] * rec.n_channels)[: rec.n_channels]


def edf_token(text: str) -> str:
    """Printable ASCII without spaces (EDF+ header sub-fields are space separated)."""
    clean = "".join(ch if 33 <= ord(ch) < 127 else "_" for ch in text.replace(" ", "_"))
    return re.sub(r"_+", "_", clean).strip("_") or "X"


def _ascii(text: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 else "_" for ch in str(text))


def _abbreviate(muscle: str, width: int) -> str:
    """``"vastus medialis L"`` -> ``"VastusMedialisL"``, shortened word by word to fit ``width``
    (``"VastMediL"``, ``"VaMeL"``...): every word keeps its start, so the side (L/R) survives."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", muscle) if w]
    if not words or width <= 0:
        return ""
    words = [w[0].upper() + w[1:] for w in words]
    longest = max(len(w) for w in words)
    for keep in range(longest, 0, -1):
        text = "".join(w[:keep] for w in words)
        if len(text) <= width:
            return text
    return "".join(w[0] for w in words)[:width]


def channel_labels(rec: Recording, max_len: int = 16) -> list[str]:
    """Unique, printable-ASCII labels of at most ``max_len`` characters (EDF: 16): the channel's muscle (with its
    side) where known, whole when it fits, else abbreviated word by word (``"vastus medialis L"`` ->
    ``"VastusMedialisL"``); the board's channel name otherwise. The full muscle and channel name go in the EDF
    transducer field and the BIDS ``channels.tsv`` description."""
    labels: list[str] = []
    muscles = muscles_of(rec)
    for i, name in enumerate(rec.channel_names):
        base = _ascii(name).strip() or f"ch{i + 1}"
        muscle = _ascii(muscles[i]).strip()
        label = base
        if muscle:
            label = muscle if len(muscle) <= max_len else _abbreviate(muscle, max_len) or base
        label = label[:max_len].rstrip()
        n = 2
        while label in labels:
            suffix = f"~{n}"
            label = label[: max_len - len(suffix)].rstrip() + suffix
            n += 1
        labels.append(label)
    return labels


def events_in_order(rec: Recording) -> list[Event]:
    """Events sorted by sample (stable). A negative sample becomes 0; an event after the last sample
    (a truncated recording) keeps its time and is logged, never moved."""
    out = []
    late = 0
    for ev in rec.events:
        sample = (
            ev.sample
            if isinstance(ev.sample, (int, np.integer)) and ev.sample >= 0
            else int(round(float(ev.time_s) * rec.fs_hz))
        )
        sample = max(int(sample), 0)
        late += sample > rec.n_samples
        out.append(Event(label=ev.label, sample=sample, time_s=ev.time_s, data=dict(ev.data or {})))
    if late:
        log.warning("%d event(s) lie after the last sample (a truncated recording?); exported at their own time", late)
    return sorted(out, key=lambda e: e.sample)
