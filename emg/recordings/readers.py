"""Read any supported recording into a :class:`emg.recordings.recording.Recording` through one function.

Formats, chosen by sniffing the file (not only its name):

- the project's own format: BrainFlow file ``PATH.csv`` + JSON sidecar ``PATH.json``
  (delegated to :func:`emg.recordings.recording.load_recording`);
- OpenBCI GUI text files, the older v4 header (``%First Column = SampleIndex``) and the current
  v5/v6 header (``%Board = ...`` then a named CSV header row);
- EDF, EDF+, BDF and BDF+ (pyedflib); physical units converted to microvolts, annotations -> events;
- "Simple Text Format" files (BITalino / OpenSignals / BioSPPy: ``# Sampling Rate (Hz):= 1000``);
- a plain CSV: a time column (seconds) plus one column per channel, or channels only with ``fs_hz``.

Data come back channels x samples, float64, in microvolts where the file says so (``meta["units"]``
records what the values are when the file does not give microvolts, e.g. ADC counts).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from emg.errors import RecordingError
from emg.recordings.recording import Event, Recording
from emg.recordings.units import UNIT_TO_UV

log = logging.getLogger(__name__)


EXPECTED = (
    "the project's recording (PATH.csv + PATH.json), an OpenBCI GUI .txt (v4/v6), "
    "EDF/EDF+/BDF/BDF+, a Simple Text Format file, or a CSV with a time column (or --fs)"
)

_SNIFF_BYTES = 8192


def read_recording(path: str | Path, fs_hz: float | None = None, *, units: str | None = None) -> Recording:
    """Read the recording at ``path`` in any supported format.

    ``fs_hz`` gives the sampling rate where the file does not (a CSV without a time column);
    where the file does give it and ``fs_hz`` disagrees by more than 1 %, that is an error.
    ``units`` ("uV", "mV", "V" or "counts") says what a CSV / text file's values are
    (default: microvolts); values are converted to microvolts (counts are kept as counts).
    Raises :class:`RecordingError` with a one-line message for anything unreadable.
    """
    p = Path(path)
    if fs_hz is not None and (not math.isfinite(fs_hz) or fs_hz <= 0):
        raise RecordingError(f"bad sampling rate --fs {fs_hz}: give a positive rate in Hz, e.g. --fs 1000")
    if p.suffix.lower() == ".json" and p.with_suffix(".csv").exists():
        p = p.with_suffix(".csv")
    if not p.exists():
        raise RecordingError(f"recording not found: {p} (check the path)")
    if p.is_dir():
        raise RecordingError(f"{p} is a folder, not a recording (give one file; `emg progress` takes folders)")
    if p.stat().st_size == 0:
        raise RecordingError(
            f"{p} is empty (0 bytes): the recording holds no samples; record again or pick another file"
        )

    suffix = p.suffix.lower()
    if suffix in (".edf", ".bdf", ".rec"):
        rec = _read_edf(p)
    elif is_project_recording(p):
        rec = _read_project(p)
    else:
        head = p.open("rb").read(_SNIFF_BYTES)
        if b"\x00" in head or _looks_binary(head):
            if head[:8] in (b"0       ", b"\xffBIOSEMI"):
                rec = _read_edf(p)
            else:
                raise RecordingError(f"{p} is a binary file of an unknown format; expected {EXPECTED}")
        else:
            text_head = head.decode("utf-8", errors="replace").lstrip("\ufeff")
            first = next((ln.strip() for ln in text_head.splitlines() if ln.strip()), "")
            if first.startswith("%"):
                rec = _read_openbci_gui(p)
            elif first.startswith("#"):
                rec = _read_simple_text(p, fs_hz)
            else:
                rec = _read_plain_csv(p, fs_hz)
    if units is not None and rec.source_format in ("simple-text", "csv"):
        rec = _apply_units(rec, units)
    _check_rate(rec, fs_hz)
    _check_data(rec)
    rec.path = Path(path)
    return rec


def is_project_recording(path: str | Path) -> bool:
    """True when ``path`` (a .csv) has the project's JSON sidecar beside it."""
    p = Path(path)
    side = p.with_suffix(".json")
    if not side.is_file():
        return False
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # a sidecar that is there but broken: let the project reader say so
    return isinstance(meta, dict) and ("board_id" in meta or "format_version" in meta or "exg_rows" in meta)


# --------------------------------------------------------------------------- helpers


def _looks_binary(head: bytes) -> bool:
    if not head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a multi-byte character cut at the end
            return True
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    return printable / len(head) < 0.9


def _apply_units(rec: Recording, units: str) -> Recording:
    key = units.strip().lower()
    if key in ("count", "counts", "adc", "raw"):
        rec.meta["units"] = "counts"
        return rec
    if key not in UNIT_TO_UV:
        raise RecordingError(f"unknown --units {units!r}: use uV, mV, V or counts")
    rec.data_uv = rec.data_uv * UNIT_TO_UV[key]
    rec.meta["units"] = "uV"
    rec.meta["units_in_file"] = units
    return rec


def _check_rate(rec: Recording, fs_hz: float | None) -> None:
    if not math.isfinite(rec.fs_hz) or rec.fs_hz <= 0:
        raise RecordingError(
            f"{rec.path or 'recording'}: sampling rate {rec.fs_hz!r} is not usable; give it with --fs HZ"
        )
    if fs_hz is not None and abs(fs_hz - rec.fs_hz) > 0.01 * rec.fs_hz:
        raise RecordingError(
            f"--fs {fs_hz:g} disagrees with the {rec.fs_hz:g} Hz the file states; drop --fs or fix the file"
        )


def _check_data(rec: Recording) -> None:
    x = rec.data_uv
    if x.ndim != 2 or x.shape[0] == 0:
        raise RecordingError(f"{rec.path}: no EMG channels found; expected {EXPECTED}")
    if x.shape[1] < 2:
        raise RecordingError(
            f"{rec.path}: only {x.shape[1]} sample(s): the recording is empty or truncated; "
            "restore the full file or pick another"
        )
    if len(rec.channel_names) != x.shape[0]:
        rec.channel_names = [f"ch{i + 1}" for i in range(x.shape[0])]
    rec.data_uv = np.ascontiguousarray(x, dtype=np.float64)


def _is_number(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return False


def _load_numeric(lines: list[str], delimiter: str | None, path: Path, skip_cols: set[int] | None = None) -> np.ndarray:
    """Parse numeric rows; a truncated last line (fewer fields) is dropped with a warning."""
    if not lines:
        raise RecordingError(f"{path} has a header but no data rows: the recording is empty; record again")
    split = (lambda s: s.split(delimiter)) if delimiter else (lambda s: s.split())
    n_fields = len(split(lines[0]))
    if len(split(lines[-1])) != n_fields:
        log.warning("%s: last line is truncated; dropped", path)
        lines = lines[:-1]
    keep = [i for i in range(n_fields) if not skip_cols or i not in skip_cols]
    try:
        arr = np.loadtxt(io.StringIO("\n".join(lines)), delimiter=delimiter, usecols=keep, ndmin=2, dtype=np.float64)
    except ValueError as err:
        msg = str(err).splitlines()[0] if str(err) else "unparseable value"
        raise RecordingError(f"{path}: cannot parse the data rows ({msg}); expected {EXPECTED}") from None
    return arr


# --------------------------------------------------------------------------- project format


def _read_project(p: Path) -> Recording:
    from emg.recordings.recording import load_recording  # the foundation's reader: sidecar checks, truncation

    rec = load_recording(p)
    rec.source_format = rec.source_format or "emg-biofeedback"
    units = rec.meta.get("units")
    rec.meta["units"] = units.get("exg", "uV") if isinstance(units, dict) else (units or "uV")
    return rec


# --------------------------------------------------------------------------- OpenBCI GUI


_RATE_RE = re.compile(r"sample\s*rate\s*=\s*([0-9.]+)", re.I)
_NCH_RE = re.compile(r"number\s+of\s+channels\s*=\s*([0-9]+)", re.I)
_BOARD_RE = re.compile(r"board\s*=\s*(.+)", re.I)
_HMS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)\s*$")


def _read_openbci_gui(p: Path) -> Recording:
    text = p.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    header = [ln for ln in lines if ln.startswith("%")]
    body = [ln for ln in lines if ln.strip() and not ln.startswith("%")]
    head_text = "\n".join(header)
    m = _RATE_RE.search(head_text)
    if not m:
        raise RecordingError(
            f"{p}: OpenBCI header has no '%Sample Rate = ... Hz' line; the file is damaged or not an OpenBCI GUI file"
        )
    fs = float(m.group(1))
    n_declared = int(_NCH_RE.search(head_text).group(1)) if _NCH_RE.search(head_text) else None
    board = _BOARD_RE.search(head_text).group(1).strip() if _BOARD_RE.search(head_text) else ""
    if not body:
        raise RecordingError(
            f"{p}: OpenBCI header but no samples; the recording is empty: record again or pick another file"
        )
    first_tokens = [t.strip() for t in body[0].split(",")]
    if not _is_number(first_tokens[0]):
        return _read_openbci_v6(p, fs, board, n_declared, body, head_text)
    return _read_openbci_v4(p, fs, board, n_declared, body, head_text)


def _read_openbci_v6(
    p: Path, fs: float, board: str, n_declared: int | None, body: list[str], head_text: str
) -> Recording:
    cols = [c.strip() for c in body[0].split(",")]
    rows = body[1:]
    if not rows:
        raise RecordingError(
            f"{p}: OpenBCI header but no samples; the recording is empty: record again or pick another file"
        )
    text_cols = {i for i, c in enumerate(cols) if "formatted" in c.lower()}
    # any column that does not parse as a number in the first row is text (e.g. a formatted time)
    first = [t.strip() for t in rows[0].split(",")]
    text_cols |= {i for i, t in enumerate(first) if i < len(cols) and not _is_number(t)}
    data = _load_numeric(rows, ",", p, skip_cols=text_cols)
    keep = [i for i in range(len(cols)) if i not in text_cols]
    by_name = {cols[i].lower(): j for j, i in enumerate(keep)}
    exg_idx = [
        j for j, i in enumerate(keep) if cols[i].lower().startswith(("exg channel", "eeg channel", "emg channel"))
    ]
    if n_declared is not None and len(exg_idx) > n_declared:
        exg_idx = exg_idx[:n_declared]
    if not exg_idx:
        raise RecordingError(
            f"{p}: no 'EXG Channel' columns in the OpenBCI header row; expected an OpenBCI GUI v5/v6 file"
        )
    accel_idx = [j for j, i in enumerate(keep) if cols[i].lower().startswith("accel channel")]
    accel = data[:, accel_idx].T.copy() if len(accel_idx) == 3 else None
    ts_j = next((j for j, i in enumerate(keep) if cols[i].lower().startswith("timestamp")), None)
    timestamps = None
    if ts_j is not None:
        timestamps = data[:, ts_j].copy()
        if np.nanmedian(timestamps) > 1e11:  # unix milliseconds
            timestamps = timestamps / 1000.0
    pkg = data[:, by_name["sample index"]].copy() if "sample index" in by_name else None
    events: list[Event] = []
    mk = by_name.get("marker channel")
    if mk is not None:
        for s in np.flatnonzero(data[:, mk] != 0):
            events.append(
                Event(label=f"marker {data[s, mk]:g}", sample=int(s), time_s=s / fs, data={"value": float(data[s, mk])})
            )
    meta: dict[str, Any] = {"board_name": board, "header": head_text, "units": "uV", "openbci_format": "v6"}
    if timestamps is not None and np.isfinite(timestamps[0]) and timestamps[0] > 1e8:
        meta["start_time"] = datetime.fromtimestamp(float(timestamps[0]), tz=UTC).isoformat()
    names = [f"ch{k + 1}" for k in range(len(exg_idx))]
    return Recording(
        data_uv=data[:, exg_idx].T.copy(),
        fs_hz=fs,
        channel_names=names,
        events=events,
        timestamps=timestamps,
        accel=accel,
        package_num=pkg,
        source_format="openbci-gui-v6",
        path=p,
        meta=meta,
    )


def _read_openbci_v4(
    p: Path, fs: float, board: str, n_declared: int | None, body: list[str], head_text: str
) -> Recording:
    first = [t.strip() for t in body[0].split(",")]
    text_cols = {i for i, t in enumerate(first) if not _is_number(t)}
    data = _load_numeric(body, ",", p, skip_cols=text_cols)
    n_numeric = data.shape[1]
    if n_declared is not None:
        n_ch = n_declared
    elif "ganglion" in (board + head_text).lower() or abs(fs - 200.0) < 1.0:
        n_ch = 4
    elif abs(fs - 125.0) < 1.0:
        n_ch = 16
    else:
        n_ch = max(1, n_numeric - 1 - 3)
    if n_numeric < 1 + n_ch:
        raise RecordingError(
            f"{p}: rows have {n_numeric} numeric columns, fewer than sample index + {n_ch} channels; "
            "the file is damaged or not an OpenBCI GUI file"
        )
    exg = data[:, 1 : 1 + n_ch].T.copy()
    accel = data[:, 1 + n_ch : 4 + n_ch].T.copy() if n_numeric >= 4 + n_ch else None
    timestamps = None
    # wall-clock HH:MM:SS.mmm column (text) -> seconds of day, made monotonic across midnight
    hms_col = next((i for i in sorted(text_cols) if _HMS_RE.match(first[i])), None)
    if hms_col is not None:
        secs = []
        for ln in body:
            parts = ln.split(",")
            mm = _HMS_RE.match(parts[hms_col]) if hms_col < len(parts) else None
            secs.append(int(mm.group(1)) * 3600 + int(mm.group(2)) * 60 + float(mm.group(3)) if mm else np.nan)
        t = np.asarray(secs[: data.shape[0]], dtype=np.float64)
        t = t + 86400.0 * np.cumsum(np.r_[0, np.diff(t) < -43200])
        timestamps = t
    meta: dict[str, Any] = {
        "board_name": board or ("Ganglion" if n_ch == 4 else ""),
        "header": head_text,
        "units": "uV",
        "openbci_format": "v4",
    }
    if timestamps is not None:
        meta["timestamps_are"] = "seconds of day (wall clock)"
    names = [f"ch{k + 1}" for k in range(n_ch)]
    return Recording(
        data_uv=exg,
        fs_hz=fs,
        channel_names=names,
        timestamps=timestamps,
        accel=accel,
        package_num=data[:, 0].copy(),
        source_format="openbci-gui-v4",
        path=p,
        meta=meta,
    )


# --------------------------------------------------------------------------- EDF / BDF


def _read_edf(p: Path) -> Recording:
    import pyedflib

    try:
        reader = pyedflib.EdfReader(str(p))
    except OSError as err:
        raise RecordingError(
            f"{p}: not a readable EDF/BDF file ({str(err).strip().splitlines()[0]}); "
            "check it is complete (not truncated) and really EDF/BDF"
        ) from None
    try:
        n_sig = reader.signals_in_file
        if n_sig == 0:
            raise RecordingError(f"{p}: the EDF/BDF file holds no signals")
        rates = [float(reader.getSampleFrequency(i)) for i in range(n_sig)]
        values, counts = np.unique(np.round(rates, 6), return_counts=True)
        fs = float(values[np.argmax(counts)]) if len(values) else 0.0
        # prefer the highest rate shared by at least one channel whose unit is a voltage
        volt = [i for i in range(n_sig) if reader.getPhysicalDimension(i).strip().lower() in UNIT_TO_UV]
        if volt:
            fs = max(rates[i] for i in volt)
        chans = [i for i in range(n_sig) if abs(rates[i] - fs) < 1e-6]
        skipped = [reader.getLabel(i) for i in range(n_sig) if i not in chans]
        if skipped:
            log.warning("%s: skipped channels at other sampling rates: %s", p, ", ".join(skipped))
        signals = []
        names = []
        units_seen = []
        n_min = min(reader.getNSamples()[i] for i in chans)
        for i in chans:
            x = reader.readSignal(i)[:n_min]
            unit = reader.getPhysicalDimension(i).strip()
            factor = UNIT_TO_UV.get(unit.lower())
            if factor is None:
                units_seen.append(unit or "?")
                factor = 1.0
            signals.append(x * factor)
            names.append(reader.getLabel(i).strip() or f"ch{i + 1}")
        onsets, durations, texts = reader.readAnnotations()
        events = [
            Event(
                label=str(txt),
                sample=int(round(float(on) * fs)),
                time_s=float(on),
                data={"duration_s": float(dur)} if float(dur) > 0 else {},
            )
            for on, dur, txt in zip(onsets, durations, texts, strict=False)
        ]
        from emg.recordings.bids_events import read_bids_events

        bids_events = read_bids_events(p)  # a BIDS events.tsv keeps whole labels and each event's data
        events_source = "BIDS events.tsv" if bids_events is not None else "EDF+ annotations"
        if bids_events is not None:
            events = bids_events
        start = reader.getStartdatetime()
        fmt = {0: "edf", 1: "edf+", 2: "bdf", 3: "bdf+"}.get(reader.filetype, "edf")
        meta = {
            "units": "uV" if not units_seen else f"as in file ({', '.join(sorted(set(units_seen)))})",
            "start_time": start.isoformat() if start else None,
            "patient": reader.getPatientName() or reader.getPatientCode() or None,
            "equipment": reader.getEquipment() or None,
            "skipped_channels": skipped,
            "prefilter": [reader.getPrefilter(i) for i in chans],
            "events_source": events_source,
        }
        if not signals or n_min < 2:
            raise RecordingError(f"{p}: the EDF/BDF file holds no samples; export it again or pick another file")
        return Recording(
            data_uv=np.vstack(signals),
            fs_hz=fs,
            channel_names=names,
            events=events,
            source_format=fmt,
            path=p,
            meta=meta,
        )
    finally:
        reader.close()


# --------------------------------------------------------------------------- Simple Text Format


_STF_RATE_RE = re.compile(r"sampling\s*rate[^=:]*[:=]+\s*([0-9.]+)", re.I)
_STF_LABELS_RE = re.compile(r"labels\s*[:=]+\s*(.+)", re.I)


def _read_simple_text(p: Path, fs_hz: float | None) -> Recording:
    text = p.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    header = [ln.lstrip("#").strip() for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    fs = None
    names: list[str] = []
    meta: dict[str, Any] = {"header": "\n".join(header), "units": "uV"}
    for h in header:
        if h.startswith("{") and h.endswith("}"):  # OpenSignals JSON header
            try:
                info = json.loads(h)
                dev = next(iter(info.values())) if info else {}
                fs = float(dev.get("sampling rate", fs or 0)) or fs
                names = [str(x) for x in dev.get("label", [])] or names
            except (ValueError, AttributeError, StopIteration):
                pass
        m = _STF_RATE_RE.search(h)
        if m:
            fs = float(m.group(1))
        m = _STF_LABELS_RE.search(h)
        if m:
            names = [s.strip() for s in re.split(r"[,\t]", m.group(1)) if s.strip()]
        if re.search(r"resolution", h, re.I):
            meta["units"] = "counts"  # integer ADC values; no gain in the file
            meta["resolution_bits"] = h.split("=")[-1].strip()
    if fs is None:
        fs = fs_hz
    if fs is None:
        raise RecordingError(f"{p}: the '#' header names no sampling rate; give it with --fs HZ")
    delim = "\t" if body and "\t" in body[0] else ("," if body and "," in body[0] else None)
    data = _load_numeric(body, delim, p)
    if names and len(names) < data.shape[1]:  # OpenSignals: nSeq, DI, ... then the labelled channels
        data = data[:, -len(names) :]
    if not names or len(names) != data.shape[1]:
        names = [f"ch{i + 1}" for i in range(data.shape[1])]
    return Recording(
        data_uv=data.T.copy(), fs_hz=float(fs), channel_names=names, source_format="simple-text", path=p, meta=meta
    )


# --------------------------------------------------------------------------- plain CSV

_TIME_NAMES = ("time", "t", "time_s", "time (s)", "seconds", "sec", "s", "timestamp", "times")


def _read_plain_csv(p: Path, fs_hz: float | None) -> Recording:
    text = p.read_text(encoding="utf-8", errors="replace").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise RecordingError(f"{p} holds no data rows: the recording is empty; record again or pick another file")
    sample = "\n".join(lines[:20])
    try:
        delim = csv.Sniffer().sniff(sample, delimiters=",;\t ").delimiter
    except csv.Error:
        delim = "," if "," in lines[0] else ("\t" if "\t" in lines[0] else None)
    if delim == " ":
        delim = None
    split = (lambda s: s.split(delim)) if delim else (lambda s: s.split())
    first = [t.strip().strip('"') for t in split(lines[0])]
    header = None
    if not all(_is_number(t) for t in first if t != ""):
        header = first
        lines = lines[1:]
    if lines and not all(_is_number(t.strip()) for t in split(lines[0]) if t.strip() != ""):
        raise RecordingError(f"{p}: cannot parse {lines[0][:60]!r} as numbers; expected {EXPECTED}")
    data = _load_numeric(lines, delim, p)
    if data.shape[0] < 2:
        raise RecordingError(
            f"{p}: only {data.shape[0]} data row(s): the recording is empty or truncated; "
            "restore the full file or pick another"
        )
    n_cols = data.shape[1]
    if n_cols >= 20 and delim == "\t" and header is None:
        raise RecordingError(
            f"{p} looks like a BrainFlow file without its sidecar {p.with_suffix('.json').name}; "
            "put the sidecar beside it (or convert it to CSV with a time column)"
        )
    named_time = header is not None and header[0].strip().lower() in _TIME_NAMES
    col0 = data[:, 0]
    d = np.diff(col0)
    step = float(np.median(d)) if len(d) else 0.0
    regular = step > 0 and np.all(d > 0) and float(np.max(np.abs(d - step))) <= 0.05 * step + 1e-9
    time_col = named_time or (n_cols >= 2 and regular and (fs_hz is None or abs(1.0 / step - fs_hz) <= 0.01 * fs_hz))
    if named_time and not (step > 0 and np.all(d > 0)):
        raise RecordingError(f"{p}: the time column is not increasing; fix the file or drop the column and use --fs")
    if time_col:
        fs = 1.0 / step
        # time in ms?  a step of 1-8 with a header saying ms, or no header and implausible rate
        if header is not None and "ms" in header[0].lower():
            fs *= 1000.0
        fs = _round_rate(fs)
        chans = data[:, 1:]
        names = header[1:] if header is not None else [f"ch{i + 1}" for i in range(chans.shape[1])]
        timestamps = col0.copy()
        if not regular:
            log.warning(
                "%s: the time column is irregular (step %.6g-%.6g s); using the median step",
                p,
                float(d.min()),
                float(d.max()),
            )
    else:
        if fs_hz is None:
            raise RecordingError(
                f"{p}: no time column (first column is not an increasing time in seconds); "
                "give the sampling rate with --fs HZ"
            )
        fs = float(fs_hz)
        chans = data
        names = header if header is not None else [f"ch{i + 1}" for i in range(chans.shape[1])]
        timestamps = None
    if chans.shape[1] == 0:
        raise RecordingError(
            f"{p}: only a time column, no channel columns; expected a time column plus one column per channel"
        )
    return Recording(
        data_uv=chans.T.copy(),
        fs_hz=fs,
        channel_names=[str(n) for n in names],
        timestamps=timestamps,
        source_format="csv",
        path=p,
        meta={"units": "uV", "csv_time_column": bool(time_col)},
    )


def _round_rate(fs: float) -> float:
    """Snap a rate computed from a time column to the nearest 0.001 Hz (and an integer when within 0.01 %)."""
    r = round(fs)
    if r and abs(fs - r) <= 1e-4 * r:
        return float(r)
    return round(fs, 3)


# --------------------------------------------------------------------------- folders

#: File name endings that are never recordings themselves (sidecars, ground truth, reports).
_NOT_RECORDINGS = (".truth.csv", ".truth.npz", ".summary.json", ".json", ".html", ".png", ".md", ".toml")
_RECORDING_SUFFIXES = (".csv", ".txt", ".edf", ".bdf", ".tsv")


def find_recordings(folder: str | Path, *, recursive: bool = True) -> list[Path]:
    """Recordings in ``folder`` (sorted): project .csv files with a sidecar, OpenBCI .txt, EDF/BDF, CSV."""
    root = Path(folder)
    if not root.is_dir():
        raise RecordingError(f"folder not found: {root} (give a folder of recordings)")
    pattern = "**/*" if recursive else "*"
    out = []
    for p in sorted(root.glob(pattern)):
        name = p.name.lower()
        if not p.is_file() or name.startswith(".") or any(name.endswith(s) for s in _NOT_RECORDINGS):
            continue
        if p.suffix.lower() in _RECORDING_SUFFIXES and name not in (
            "license.source.txt",
            "provenance.txt",
            "readme.txt",
        ):
            if name.endswith((".source.txt",)):
                continue
            out.append(p)
    return out
