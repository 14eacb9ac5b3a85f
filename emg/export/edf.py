"""EDF+ and BDF+ export (pyedflib).

What the file holds:

- one signal per EMG channel, physical unit ``uV``; the label is ``"<channel> <muscle>"`` (16
  characters at most, the EDF limit), the transducer field names the full muscle and the electrode
  mode, the prefilter field the hardware filter of the board and the fact that the data are raw;
- the header's equipment field names the device; the recording's "additional" sub-field names the
  filters the live session used (not applied to these raw data) as far as the 80-character header
  allows;
- every recorded event as an EDF+ annotation at its sample (onset = sample / fs, 100 us resolution
  is exact at rates up to 10 kHz); the text is the event's label (EDF+ annotations are cut at 40
  characters by edflib; BIDS ``events.tsv`` keeps the full event data).

Exactness: samples are converted to the file's integers by rounding (not truncation), with each
channel's physical range set from its own minimum and maximum, so the value read back differs from
the original by at most half a quantisation step: ``(max - min) / (2**24 - 1) / 2`` for BDF+,
``/ (2**16 - 1) / 2`` for EDF+ (:attr:`EdfResult.quantum_uv`). BDF+ (24 bit) is the default; EDF+
(16 bit) is for tools that read nothing else.

Data records: the record length is chosen so that the samples fill whole records (a divisor of the
sample count, 50 ms - 1 s); where none exists the last record is padded by repeating the last
sample, :attr:`EdfResult.padded_samples` says how many and an annotation ``recording end`` marks
where the real data stop. The file is written to a temporary name and renamed when complete, so
an existing file is never half overwritten (and never replaced without ``force``).
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from emg.errors import ConfigError, RecordingError
from emg.export.source import (
    channel_labels,
    clean_rate,
    compact_filter_text,
    data_unit,
    device_info,
    edf_token,
    events_in_order,
    live_filter_text,
    muscles_of,
    start_datetime,
)
from emg.recordings.recording import Recording

log = logging.getLogger(__name__)

DIGITAL_RANGE = {"bdf": (-8388608, 8388607), "edf": (-32768, 32767)}
#: EDF+ annotation texts longer than this are cut by edflib.
MAX_ANNOTATION_CHARS = 40
#: Largest data record the EDF spec recommends (bytes).
MAX_RECORD_BYTES = 61440
#: Annotation marking where the real samples stop when the last record had to be padded.
END_LABEL = "recording end"


@dataclass
class EdfResult:
    """What :func:`write_edf` wrote."""

    path: Path
    file_type: str  # "bdf+" or "edf+"
    fs_hz: float
    n_channels: int
    n_samples: int  # real samples per channel
    padded_samples: int  # samples repeated at the end to fill the last data record
    record_duration_s: float
    n_records: int
    n_events: int
    labels: list[str]
    physical_range_uv: list[tuple[float, float]]
    quantum_uv: list[float] = field(default_factory=list)  # one quantisation step per channel
    invalid_samples: int = 0  # NaN/inf samples written as 0


def _duration_text_ok(samples: int, fs_hz: float) -> float | None:
    """``samples / fs_hz`` when it is exact in the 8 characters EDF gives the record duration."""
    d = samples / fs_hz
    if not 0.001 <= d <= 60:
        return None
    text = f"{d:.8f}".rstrip("0").rstrip(".")
    if len(text) > 8 or abs(float(text) * fs_hz - samples) > 1e-6:
        return None
    return float(text)


def record_layout(n_samples: int, fs_hz: float, n_channels: int, bytes_per_sample: int) -> tuple[int, float, int]:
    """``(samples_per_record, record_duration_s, padded_samples)`` for ``n_samples`` at ``fs_hz``.

    Prefers records that the samples fill exactly (50 ms to 1 s long, at most 61,440 bytes);
    otherwise 1-second records (or the shortest whole number of seconds holding an integer number
    of samples) with the last one padded.
    """
    if n_samples <= 0:
        raise RecordingError("the recording holds no samples; nothing to export")
    fs_int = round(fs_hz)
    integer_rate = abs(fs_hz - fs_int) < 1e-9 and fs_int > 0
    if integer_rate:
        largest = min(fs_int, n_samples, max(1, MAX_RECORD_BYTES // max(1, n_channels * bytes_per_sample)))
        smallest = max(1, math.ceil(fs_int / 20))
        # readers compute the rate as samples / duration: prefer records where that is exact in floats
        for exact_float in (True, False):
            for k in range(largest, smallest - 1, -1):
                if n_samples % k == 0:
                    d = _duration_text_ok(k, fs_hz)
                    if d is not None and (not exact_float or k / d == fs_hz):
                        return k, d, 0
        for k in range(min(fs_int, largest), 0, -1):  # pad: shortest waste with an exact duration
            d = _duration_text_ok(k, fs_hz)
            if d is not None:
                return k, d, (-n_samples) % k
    for seconds in range(1, 61):
        k = fs_hz * seconds
        if abs(k - round(k)) < 1e-6 and round(k) > 0:
            k = int(round(k))
            return k, float(seconds), (-n_samples) % k
    raise ConfigError(
        f"sampling rate {fs_hz} Hz cannot be stored in EDF/BDF (no whole number of samples "
        "fits a record of up to 60 s); resample the recording first"
    )


def _physical_range(x: np.ndarray) -> tuple[float, float]:
    """Integer physical limits (exact in the 8-character header fields) enclosing ``x``."""
    lo = math.floor(float(np.min(x))) - 1
    hi = math.ceil(float(np.max(x))) + 1
    if lo < -9_999_999 or hi > 99_999_999:
        raise RecordingError(
            f"values of {min(lo, -hi) if lo < -9_999_999 else hi} uV do not fit an EDF/BDF "
            "header (8 characters); these are not microvolt data: check the units"
        )
    return float(lo), float(hi)


def _to_digital(x: np.ndarray, pmin: float, pmax: float, dmin: int, dmax: int) -> np.ndarray:
    scale = (dmax - dmin) / (pmax - pmin)
    dig = np.rint((x - pmin) * scale + dmin)
    return np.clip(dig, dmin, dmax).astype(np.int32)


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise ConfigError(f"{out} already exists; pass --force to replace it or choose another --out")
    if out.exists() and out.is_dir():
        raise ConfigError(f"{out} is a folder; give a file name ending in .bdf or .edf")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create folder {out.parent}: {err.strerror}; choose a writable --out") from None


def write_edf(
    rec: Recording,
    out: str | Path,
    *,
    fmt: str = "bdf",
    force: bool = False,
    subject: str | None = None,
    technician: str = "",
    admincode: str = "",
    include_accel: bool = False,
) -> EdfResult:
    """Write ``rec`` as BDF+ (``fmt="bdf"``, 24 bit, default) or EDF+ (``fmt="edf"``, 16 bit).

    ``include_accel`` appends the board's accelerometer (``rec.accel``, 3 x n, in g) as three
    signals ``accel X/Y/Z`` after the EMG channels (off by default: EMG readers take every signal
    at the EMG rate as a channel).

    ``subject`` goes into the EDF+ patient code (never a name). Refuses (ConfigError) to replace an
    existing ``out`` unless ``force``; the file appears only once complete.
    """
    import pyedflib

    fmt = fmt.lower().rstrip("+")
    if fmt not in DIGITAL_RANGE:
        raise ConfigError(f"unknown EDF flavour {fmt!r}; use 'bdf' (BDF+, 24 bit) or 'edf' (EDF+, 16 bit)")
    out = Path(out)
    _check_target(out, force)
    data = np.asarray(rec.data_uv, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] == 0:
        raise RecordingError("the recording has no channels; nothing to export")
    n_emg, n = data.shape
    if n == 0:
        raise RecordingError("the recording holds no samples; nothing to export")
    extra_labels: list[str] = []
    if include_accel:
        accel = None if rec.accel is None else np.asarray(rec.accel, dtype=np.float64)
        if accel is None or accel.shape != (3, n):
            raise RecordingError("the recording has no accelerometer data to export; drop --accel")
        data = np.vstack([data, accel])
        extra_labels = ["accel X", "accel Y", "accel Z"]
    n_ch = data.shape[0]
    names = list(rec.channel_names) + extra_labels
    fs = clean_rate(rec.fs_hz) if math.isfinite(float(rec.fs_hz)) else float("nan")
    if not (math.isfinite(fs) and fs > 0):
        raise RecordingError(f"the recording's sampling rate ({rec.fs_hz}) is unknown; pass --fs HZ")

    dmin, dmax = DIGITAL_RANGE[fmt]
    bytes_per = 3 if fmt == "bdf" else 2
    spr, rec_dur, pad = record_layout(n, fs, n_ch, bytes_per)
    n_records = (n + pad) // spr

    bad = ~np.isfinite(data)
    invalid = int(bad.sum())
    events = events_in_order(rec)
    notes: list[tuple[float, str]] = []
    if invalid:
        data = np.where(bad, 0.0, data)
        for c in np.flatnonzero(bad.any(axis=1)):
            first = int(np.flatnonzero(bad[c])[0])
            notes.append((first / fs, f"invalid samples set to 0 ({names[c]})"[:MAX_ANNOTATION_CHARS]))
        log.warning("%d NaN/inf samples written as 0 uV (annotated)", invalid)
    if pad:
        notes.append((n / fs, END_LABEL))
        data = np.hstack([data, np.repeat(data[:, -1:], pad, axis=1)])
    n_annotations = len(events) + len(notes)
    annot_signals = max(1, math.ceil(n_annotations / n_records)) if n_annotations else 1
    if annot_signals > 64:
        raise RecordingError(
            f"{n_annotations} events in {n_records} data records exceed EDF+'s 64 annotations "
            "per record; export to BIDS (events.tsv) instead"
        )

    labels = channel_labels(rec) + extra_labels
    muscles = muscles_of(rec) + [""] * len(extra_labels)
    dev = device_info(rec)
    unit = data_unit(rec)
    ranges = [_physical_range(data[c]) for c in range(n_ch)]
    quanta = [(hi - lo) / (dmax - dmin) for lo, hi in ranges]
    if fmt == "edf" and max(quanta) > 0.1:
        log.warning(
            "EDF+ (16 bit) resolution is %.3g uV on the widest channel; BDF+ keeps %.3g uV",
            max(quanta),
            max(quanta) * (65535 / 16777215),
        )

    gain_text = ""
    if dev.gains:
        g = {str(x) for x in dev.gains}
        gain_text = f", gain {g.pop()}" if len(g) == 1 else ""
    headers = []
    for c in range(n_ch):
        transducer = f"sEMG bipolar{gain_text}" + (f"; muscle: {muscles[c]}" if muscles[c] else "")
        if c < rec.n_channels:
            transducer += f"; channel: {rec.channel_names[c]}"
        prefilter = (dev.prefilter + "; " if dev.prefilter else "") + "raw (no software filter)"
        if c >= n_emg:
            transducer, prefilter = "board accelerometer (3-axis)", "raw"
        headers.append(
            {
                "label": labels[c],
                "dimension": unit if c < n_emg else "g",
                "sample_frequency": fs,
                "physical_min": ranges[c][0],
                "physical_max": ranges[c][1],
                "digital_min": dmin,
                "digital_max": dmax,
                "transducer": _ascii80(transducer),
                "prefilter": _ascii80(prefilter),
            }
        )

    start = start_datetime(rec)
    live = live_filter_text(rec)
    equipment = dev.equipment()
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}{out.suffix or '.' + fmt}")
    file_type = pyedflib.FILETYPE_BDFPLUS if fmt == "bdf" else pyedflib.FILETYPE_EDFPLUS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyedflib warns about spaces and forced record durations
            writer = pyedflib.EdfWriter(str(tmp), n_ch, file_type=file_type)
            try:
                writer.setSignalHeaders(headers)
                writer.setPatientCode(edf_token(subject) if subject else "X")
                writer.setTechnician(edf_token(technician) if technician else "")
                writer.setAdmincode(edf_token(admincode) if admincode else "")
                writer.setEquipment(equipment)
                # edflib keeps 14 of the 80 characters for itself
                fixed = (
                    len("Startdate 01-JAN-2000 ")
                    + len(admincode or "X")
                    + len(technician or "X")
                    + len(equipment)
                    + 3
                    + 14
                )
                additional = "raw" + (f";live:{compact_filter_text(live)}" if live else "")
                writer.setRecordingAdditional(edf_token(additional)[: max(0, 80 - fixed)])
                if start is not None:
                    writer.setStartdatetime(start.astimezone().replace(tzinfo=None))
                writer.setDatarecordDuration(rec_dur)
                writer.set_number_of_annotation_signals(annot_signals)
                for ev in events:
                    duration = ev.data.get("duration_s") if isinstance(ev.data, dict) else None
                    text = _ascii(ev.label)
                    if len(text) > MAX_ANNOTATION_CHARS:
                        log.warning("event label %r cut to %d characters in EDF+", text, MAX_ANNOTATION_CHARS)
                    writer.writeAnnotation(
                        ev.sample / fs,
                        float(duration) if isinstance(duration, (int, float)) else -1,
                        text[:MAX_ANNOTATION_CHARS],
                    )
                for onset, text in notes:
                    writer.writeAnnotation(onset, -1, text)
                digital = np.empty((n_ch, data.shape[1]), dtype=np.int32)
                for c in range(n_ch):
                    digital[c] = _to_digital(data[c], ranges[c][0], ranges[c][1], dmin, dmax)
                for r in range(n_records):
                    block = np.ascontiguousarray(digital[:, r * spr : (r + 1) * spr]).ravel()
                    if writer.blockWriteDigitalSamples(block) < 0:
                        raise RecordingError(f"pyedflib could not write data record {r} of {tmp}")
            finally:
                writer.close()
        os.replace(tmp, out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise RecordingError(f"cannot write {out}: {err}; check the folder is writable and has space") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("wrote %s: %d ch x %d samples at %g Hz, %d events", out, n_ch, n, fs, len(events))
    return EdfResult(
        path=out,
        file_type=f"{fmt}+",
        fs_hz=fs,
        n_channels=n_ch,
        n_samples=n,
        padded_samples=pad,
        record_duration_s=rec_dur,
        n_records=n_records,
        n_events=len(events),
        labels=labels,
        physical_range_uv=ranges,
        quantum_uv=quanta,
        invalid_samples=invalid,
    )


def _ascii(text: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 else "_" for ch in str(text))


def _ascii80(text: str) -> str:
    return _ascii(text)[:80]


def read_back(path: str | Path) -> tuple[np.ndarray, float, list[str], list[tuple[float, float, str]], datetime | None]:
    """``(data (C, n) physical, fs_hz, labels, [(onset_s, duration_s, text)], start)`` via pyedflib.

    A thin check-reader (the project's reader for analysis is :func:`emg.recordings.readers.read_recording`).
    """
    import pyedflib

    reader = pyedflib.EdfReader(str(path))
    try:
        n_sig = reader.signals_in_file
        data = np.vstack([reader.readSignal(i) for i in range(n_sig)])
        fs = float(reader.getSampleFrequency(0))
        labels = [reader.getLabel(i) for i in range(n_sig)]
        onsets, durations, texts = reader.readAnnotations()
        notes = [(float(o), float(d), str(t)) for o, d, t in zip(onsets, durations, texts, strict=False)]
        return data, fs, labels, notes, reader.getStartdatetime()
    finally:
        reader.close()
