"""BIDS-EMG export (BEP042, part of BIDS since 1.11).

One call writes one recording into a BIDS dataset, creating the dataset if needed::

    ROOT/
      dataset_description.json   Name, BIDSVersion, DatasetType, GeneratedBy (created once, never rewritten)
      README                     created once
      participants.tsv (+ .json) one row per subject (a row is added for a new subject)
      sub-<S>/[sub-<S>_sessions.tsv]                      (when sessions are used; a row per session)
      sub-<S>/[ses-<N>/]sub-<S>[_ses-<N>]_scans.tsv        filename, acq_time (a row per file)
      sub-<S>/[ses-<N>/]emg/sub-<S>[_ses-<N>]_task-<T>[_acq-<A>][_run-<R>]_emg.bdf       BDF+ data
                                                         ..._emg.json       sidecar
                                                         ..._channels.tsv   channels
                                                         ..._events.tsv / ..._events.json  events

``_emg.json`` has the required fields (TaskName, EMGPlacementScheme, EMGReference,
SamplingFrequency, PowerLineFrequency, RecordingType, SoftwareFilters) and the recommended ones
we know (EMGChannelCount, HardwareFilters, RecordingDuration, Manufacturer, ...).
``channels.tsv``: name, type (EMG), units (uV), sampling_frequency, signal_electrode, reference
(``bipolar``), target_muscle, high_cutoff (the board's anti-aliasing low-pass where known),
low_cutoff, notch. ``events.tsv``: onset, duration, trial_type (the event label), sample, and the
event's data as JSON (described in ``events.json``).

Adding a session never touches what is there: existing data files are refused (``force`` replaces
only this recording's own four files), and the tables gain rows. A subject recorded with sessions
cannot get a session-less recording or the other way round (BIDS forbids mixing).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from emg.errors import ConfigError
from emg.export.edf import EdfResult, write_edf
from emg.export.source import (
    clean_rate,
    data_unit,
    device_info,
    events_in_order,
    live_filter_text,
    mains_hz,
    muscles_of,
    start_datetime,
)
from emg.recordings.bids_events import read_tsv
from emg.recordings.recording import Recording
from feedback.events import jsonable

log = logging.getLogger(__name__)

BIDS_VERSION = "1.11.0"
_LABEL_RE = re.compile(r"^[A-Za-z0-9]+$")

#: Said when the user gives no --placement: what the software knows, and that the rest was not recorded.
DEFAULT_PLACEMENT = (
    "Bipolar surface electrode pairs over the target muscles named in channels.tsv "
    "(target_muscle); the placement procedure was not recorded by the software"
)


@dataclass
class BidsResult:
    """What :func:`export_bids` wrote."""

    root: Path
    data_file: Path
    written: list[Path] = field(default_factory=list)  # files created or replaced
    updated: list[Path] = field(default_factory=list)  # tables that gained a row
    edf: EdfResult | None = None
    created_dataset: bool = False


def bids_label(value: Any, entity: str, *, required: bool = True) -> str | None:
    """A BIDS label (letters and digits) from ``value``; a ``sub-``/``ses-``... prefix is dropped."""
    if value is None or str(value).strip() == "":
        if required:
            flag = {"sub": "--subject", "task": "--task", "ses": "--session", "run": "--run", "acq": "--acq"}[entity]
            raise ConfigError(f"BIDS needs the {entity} entity: pass {flag} LABEL (letters and digits)")
        return None
    text = str(value).strip()
    if text.lower().startswith(entity + "-"):
        text = text[len(entity) + 1 :]
    if entity == "run":
        if not text.isdigit():
            raise ConfigError(f"BIDS run must be a number, got {value!r}: pass e.g. --run 1")
        return text
    if not _LABEL_RE.match(text):
        suggestion = re.sub(r"[^A-Za-z0-9]", "", text) or "S01"
        raise ConfigError(f"BIDS {entity} label {value!r} may hold only letters and digits; use e.g. {suggestion!r}")
    return text


def _tsv_text(header: list[str], rows: list[dict[str, Any]]) -> str:
    lines = ["\t".join(header)]
    for row in rows:
        lines.append("\t".join(_cell(row.get(col, "n/a")) for col in header))
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) or abs(value) < 1e15 else str(value)
    return str(value).replace("\t", " ").replace("\n", " ")


def _write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_json(path: Path, obj: Any) -> None:
    _write_text_atomic(path, json.dumps(jsonable(obj), indent=2, ensure_ascii=False) + "\n")


def _add_row(path: Path, key: str, row: dict[str, Any], default_header: list[str]) -> bool:
    """Add ``row`` to the TSV at ``path`` unless a row with the same ``key`` exists; True if added.

    Existing rows and columns are kept as they are; new columns of ``row`` are appended to the header.
    """
    header, rows = read_tsv(path)
    if header and key not in header:
        raise ConfigError(f"{path} has no '{key}' column; it is not a BIDS table - fix or remove it")
    if any(r.get(key) == str(row[key]) for r in rows):
        return False
    header = header or list(default_header)
    for col in row:
        if col not in header:
            header.append(col)
    rows.append({k: _cell(v) for k, v in row.items()})
    _write_text_atomic(path, _tsv_text(header, rows))
    return True


def _replace_row(path: Path, key: str, row: dict[str, Any], default_header: list[str]) -> None:
    header, rows = read_tsv(path)
    header = header or list(default_header)
    for col in row:
        if col not in header:
            header.append(col)
    rows = [r for r in rows if r.get(key) != str(row[key])] + [{k: _cell(v) for k, v in row.items()}]
    _write_text_atomic(path, _tsv_text(header, rows))


def _check_dataset_root(root: Path) -> bool:
    """True when ``root`` is to be created as a new dataset; ConfigError when it is not usable."""
    desc = root / "dataset_description.json"
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root} is a file; --out for BIDS is a dataset folder")
    if desc.exists():
        try:
            meta = json.loads(desc.read_text(encoding="utf-8"))
        except ValueError:
            raise ConfigError(f"{desc} is not valid JSON; fix it before adding recordings to this dataset") from None
        if not isinstance(meta, dict) or "BIDSVersion" not in meta:
            raise ConfigError(f"{desc} lacks BIDSVersion; {root} is not a BIDS dataset")
        return False
    if root.exists() and any(root.iterdir()):
        raise ConfigError(
            f"{root} is not empty and is not a BIDS dataset (no dataset_description.json); "
            "choose a new folder or an existing BIDS dataset"
        )
    return True


def next_session_label(root: Path, subject: str) -> str:
    """The session after the subject's highest numbered one ("1" for a new subject)."""
    subject_dir = root / f"sub-{subject}"
    numbers = [int(p.name[4:]) for p in subject_dir.glob("ses-*") if p.is_dir() and p.name[4:].isdigit()]
    return str(max(numbers) + 1 if numbers else 1)


def _session_conflict(subject_dir: Path, session: str | None) -> None:
    if not subject_dir.is_dir():
        return
    has_sessions = sorted(p.name for p in subject_dir.iterdir() if p.is_dir() and p.name.startswith("ses-"))
    has_plain = (subject_dir / "emg").is_dir() or any(
        p.is_dir() and not p.name.startswith("ses-") for p in subject_dir.iterdir()
    )
    if session is None and has_sessions:
        raise ConfigError(
            f"{subject_dir.name} already has sessions ({', '.join(has_sessions)}); "
            "pass --session LABEL for this recording"
        )
    if session is not None and has_plain:
        raise ConfigError(
            f"{subject_dir.name} already has recordings without a session; "
            "export without --session or use a new subject"
        )


def emg_sidecar(
    rec: Recording,
    task: str,
    *,
    power_line_hz: float | None,
    placement_description: str,
    reference: str = "Bipolar",
    ground: str | None = None,
    task_description: str | None = None,
    instructions: str | None = None,
) -> dict[str, Any]:
    """The ``_emg.json`` content for ``rec``."""
    from emg import __version__

    dev = device_info(rec)
    plf = power_line_hz if power_line_hz is not None else mains_hz(rec)
    side: dict[str, Any] = {
        "TaskName": task,
        "SamplingFrequency": clean_rate(rec.fs_hz),
        "PowerLineFrequency": float(plf) if plf else "n/a",
        "EMGChannelCount": rec.n_channels,
        "EMGPlacementScheme": "Other",
        "EMGPlacementSchemeDescription": placement_description,
        "EMGReference": reference,
        "HardwareFilters": dev.hardware_filters,
        "SoftwareFilters": "n/a",
        "RecordingType": "continuous",
        "RecordingDuration": round(rec.n_samples / clean_rate(rec.fs_hz), 6),
        "TriggerChannelCount": 0,
    }
    if ground:
        side["EMGGround"] = ground
    if dev.manufacturer:
        side["Manufacturer"] = dev.manufacturer
    side["ManufacturersModelName"] = dev.model
    bf = (rec.meta or {}).get("brainflow_version")
    side["SoftwareVersions"] = f"emg-biofeedback {__version__}" + (f", BrainFlow {bf}" if bf else "")
    gains = {str(g) for g in dev.gains}
    if len(gains) == 1:
        try:
            side["Gain"] = float(gains.pop())
        except ValueError:
            pass
    drill = (rec.meta or {}).get("drill")
    if task_description:
        side["TaskDescription"] = task_description
    elif isinstance(drill, dict) and (drill.get("name") or drill.get("kind")):
        side["TaskDescription"] = (
            f"biofeedback drill {drill.get('name') or ''} ({drill.get('kind') or 'drill'})".replace("  ", " ")
        )
    if instructions:
        side["Instructions"] = instructions
    live = live_filter_text(rec)
    if live:
        side["LiveFeedbackFilters"] = f"{live} (used for the live display only; the data here are raw)"
    cal = (rec.meta or {}).get("calibration")
    if isinstance(cal, dict) and cal.get("reference_uv") is not None:
        side["EMGNormalization"] = {  # not a BIDS field: what "% of reference" meant in this session
            "Description": "activation shown to the patient = 100 x (envelope - RestFloor) / (Reference - RestFloor)",
            "Kind": cal.get("kind"),
            "ReferenceLevelPercentOfMaximum": cal.get("reference_level_pct"),
            "Envelope": cal.get("envelope"),
            "Channels": cal.get("channel_names"),
            "Reference_uV": cal.get("reference_uv"),
            "RestFloor_uV": cal.get("rest_floor_uv"),
            "RestSD_uV": cal.get("rest_sd_uv"),
        }
    return side


def channels_rows(rec: Recording, labels: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """``channels.tsv`` header and rows (names match the data file's labels)."""
    dev = device_info(rec)
    high = None
    if isinstance(dev.hardware_filters, dict):
        for params in dev.hardware_filters.values():
            if isinstance(params, dict) and "-3 dB cutoff (Hz)" in params:
                high = params["-3 dB cutoff (Hz)"]
    unit = data_unit(rec)
    header = [
        "name",
        "type",
        "units",
        "description",
        "sampling_frequency",
        "signal_electrode",
        "reference",
        "target_muscle",
        "low_cutoff",
        "high_cutoff",
        "notch",
    ]
    rows = []
    muscles = muscles_of(rec)
    for c, label in enumerate(labels):
        if c >= rec.n_channels:  # accelerometer axes exported with --accel
            rows.append(
                {
                    "name": label,
                    "type": "MISC",
                    "units": "g",
                    "description": f"board accelerometer, {label[-1]} axis",
                    "sampling_frequency": clean_rate(rec.fs_hz),
                    "signal_electrode": "n/a",
                    "reference": "n/a",
                    "target_muscle": "n/a",
                    "low_cutoff": "n/a",
                    "high_cutoff": "n/a",
                    "notch": "n/a",
                }
            )
            continue
        rows.append(
            {
                "name": label,
                "type": "EMG",
                "units": unit if unit == "uV" else "n/a",
                "description": "surface EMG, bipolar electrode pair, board channel "
                + str(rec.channel_names[c])
                + (f", muscle {muscles[c]}" if muscles[c] else ""),
                "sampling_frequency": clean_rate(rec.fs_hz),
                "signal_electrode": label,
                "reference": "bipolar",
                "target_muscle": muscles[c] or "n/a",
                "low_cutoff": "n/a",
                "high_cutoff": high if high is not None else "n/a",
                "notch": "n/a",
            }
        )
    return header, rows


EVENTS_JSON = {
    "onset": {"Description": "Time of the event from the first sample of the data file", "Units": "s"},
    "duration": {"Description": "Duration of the event (n/a: instantaneous)", "Units": "s"},
    "trial_type": {
        "Description": "Event label recorded by emg-biofeedback: drill events (drill_start, cue, "
        "rep_start, success, failure, rep_end, threshold_change, artefact, ...), "
        "marks and calibration steps"
    },
    "sample": {"Description": "Index of the event's sample in the data file (0-based)"},
    "data": {
        "Description": "The event's details as compact JSON (cue text and target band, per-rep "
        "metrics, threshold changes...), n/a when the event has none"
    },
}


#: What the project's event labels mean (feedback/events.py, emg.live.session, emg record marks).
EVENT_LEVELS = {
    "drill_start": "a drill began (data: kind, name, configuration)",
    "cue": "the instruction shown to the patient changed (data: phase, text, target, band)",
    "set_start": "a set of reps began",
    "set_end": "a set ended (data: reps attempted and succeeded)",
    "rep_start": "a rep began (data: set, rep, target band)",
    "success": "the rep's goal was met",
    "failure": "the rep's work time ran out without success",
    "rep_void": "the rep could not be judged because of artefacts",
    "rep_end": "a rep ended (data: result and per-rep metrics)",
    "threshold_change": "shaping moved a threshold (data: old and new %, reason)",
    "artefact": "an artefact spell began (railed, lead-off, motion spike or dropped packets)",
    "artefact_end": "the artefact spell ended",
    "tense": "stretch drill: the stretched muscle tensed",
    "relaxed": "stretch drill: the muscle let go again",
    "estimate_request": "awareness trial: the patient was asked for an estimate",
    "estimate": "awareness trial: the patient's estimate (data: estimate, actual, error in %)",
    "reveal": "awareness trial: the true level was shown",
    "pause": "the therapist paused the drill",
    "resume": "the therapist resumed the drill",
    "stop": "the drill was stopped before its end",
    "drill_end": "the drill ended (data: summary)",
    "calibration_phase": "calibration: a new phase (rest, reference contraction)",
    "calibration_done": "calibration accepted",
    "calibration_refused": "calibration refused (data: reason)",
    "mark": "a mark set by the therapist",
    "board_lost": "the board stopped sending",
    "board_reconnected": "the board came back (the recording continues in the next part)",
    "recording end": "the real end of the data (the last data record is padded after it)",
}


def events_json(labels: list[str]) -> dict[str, Any]:
    """``events.json`` describing the columns, with Levels for the labels present."""
    out = json.loads(json.dumps(EVENTS_JSON))
    levels = {lab: EVENT_LEVELS.get(lab, "event recorded by emg-biofeedback") for lab in sorted(set(labels))}
    if levels:
        out["trial_type"]["Levels"] = levels
    return out


def events_rows(rec: Recording) -> list[dict[str, Any]]:
    rows = []
    fs = clean_rate(rec.fs_hz)
    for ev in events_in_order(rec):
        data = ev.data or {}
        dur = data.get("duration_s") if isinstance(data, dict) else None
        rows.append(
            {
                "onset": round(ev.sample / fs, 6),
                "duration": float(dur) if isinstance(dur, (int, float)) and dur >= 0 else "n/a",
                "trial_type": ev.label,
                "sample": ev.sample,
                "data": json.dumps(jsonable(data), separators=(",", ":")) if data else "n/a",
            }
        )
    return rows


def export_bids(
    rec: Recording,
    root: str | Path,
    *,
    subject: str,
    task: str,
    session: str | None = None,
    run: str | int | None = None,
    acquisition: str | None = None,
    force: bool = False,
    power_line_hz: float | None = None,
    placement_description: str | None = None,
    reference: str = "Bipolar",
    ground: str | None = None,
    dataset_name: str | None = None,
    authors: list[str] | None = None,
    license_id: str | None = None,
    task_description: str | None = None,
    fmt: str = "bdf",
    include_accel: bool = False,
    extra_sidecar: dict[str, Any] | None = None,
) -> BidsResult:
    """Write ``rec`` into the BIDS dataset at ``root`` (created when new); see the module docstring.

    ``extra_sidecar``: more ``_emg.json`` fields (a lab's InstitutionName, ElectrodeManufacturer,
    InterelectrodeDistance, EMGGround...); they override the exporter's own values, except the
    fields the data determine (TaskName, SamplingFrequency, EMGChannelCount, RecordingDuration).

    ConfigError (nothing written) for: a missing or malformed subject/task/session/run label, a
    folder that is neither empty nor a BIDS dataset, a session layout clash, or a data file that
    already exists (unless ``force``, which replaces only this recording's own files).
    """
    from emg import __version__

    sub = bids_label(subject, "sub")
    tsk = bids_label(task, "task")
    if session is not None and str(session).strip().lower() == "next":
        session = next_session_label(Path(root), sub)
    ses = bids_label(session, "ses", required=False)
    run_label = bids_label(run, "run", required=False)
    acq = bids_label(acquisition, "acq", required=False)
    fmt = fmt.lower().rstrip("+")
    if fmt not in ("bdf", "edf"):
        raise ConfigError(f"BIDS-EMG data are BDF or EDF, not {fmt!r}")
    if power_line_hz is not None and not (math.isfinite(power_line_hz) and power_line_hz > 0):
        raise ConfigError(f"bad power-line frequency {power_line_hz}; use 50 or 60 (--mains)")

    extra = dict(extra_sidecar or {})
    fixed = {"TaskName", "SamplingFrequency", "EMGChannelCount", "RecordingDuration"}
    clash = sorted(fixed & set(extra))
    if clash:
        raise ConfigError(
            f"the extra sidecar fields may not set {', '.join(clash)} (they come from the data); "
            "remove them from the file"
        )
    root = Path(root)
    new_dataset = _check_dataset_root(root)
    subject_dir = root / f"sub-{sub}"
    _session_conflict(subject_dir, ses)
    session_dir = subject_dir / f"ses-{ses}" if ses else subject_dir
    emg_dir = session_dir / "emg"
    stem = (
        f"sub-{sub}"
        + (f"_ses-{ses}" if ses else "")
        + f"_task-{tsk}"
        + (f"_acq-{acq}" if acq else "")
        + (f"_run-{run_label}" if run_label else "")
    )
    data_file = emg_dir / f"{stem}_emg.{fmt}"
    own_files = [
        data_file,
        emg_dir / f"{stem}_emg.json",
        emg_dir / f"{stem}_channels.tsv",
        emg_dir / f"{stem}_events.tsv",
        emg_dir / f"{stem}_events.json",
    ]
    existing = [p for p in own_files if p.exists()]
    if existing and not force:
        raise ConfigError(
            f"{existing[0].relative_to(root)} already exists in {root}; pass --run N for another "
            "recording of this task, another --session, or --force to replace it"
        )
    other_fmt = emg_dir / f"{stem}_emg.{'edf' if fmt == 'bdf' else 'bdf'}"
    if other_fmt.exists() and not force:
        raise ConfigError(f"{other_fmt.relative_to(root)} already exists; pass --force to replace it")

    result = BidsResult(root=root, data_file=data_file, created_dataset=new_dataset)
    new_dirs = [d for d in (emg_dir, session_dir, subject_dir, root) if not d.exists()]
    emg_dir.mkdir(parents=True, exist_ok=True)

    # 1. data (written to a temporary name and renamed: an error leaves nothing half written)
    try:
        result.edf = write_edf(rec, data_file, fmt=fmt, force=force, subject=sub, include_accel=include_accel)
    except BaseException:
        for d in new_dirs:  # leave the tree as it was (an empty new folder would block the next try)
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    labels = result.edf.labels
    result.written.append(data_file)
    if other_fmt.exists() and force:
        other_fmt.unlink()

    # 2. the recording's sidecars
    side = emg_sidecar(
        rec,
        tsk,
        power_line_hz=power_line_hz,
        placement_description=placement_description or DEFAULT_PLACEMENT,
        reference=reference,
        ground=ground,
        task_description=task_description,
    )
    side.update(extra)
    _write_json(own_files[1], side)
    header, rows = channels_rows(rec, labels)
    _write_text_atomic(own_files[2], _tsv_text(header, rows))
    ev_rows = events_rows(rec)
    _write_text_atomic(own_files[3], _tsv_text(["onset", "duration", "trial_type", "sample", "data"], ev_rows))
    _write_json(own_files[4], events_json([r["trial_type"] for r in ev_rows]))
    result.written.extend(own_files[1:])

    # 3. dataset-level files: created once, never rewritten
    desc = root / "dataset_description.json"
    if new_dataset:
        description: dict[str, Any] = {
            "Name": dataset_name or "sEMG biofeedback recordings",
            "BIDSVersion": BIDS_VERSION,
            "DatasetType": "raw",
        }
        if license_id:
            description["License"] = license_id
        if authors:
            description["Authors"] = list(authors)
        description["GeneratedBy"] = [
            {"Name": "emg-biofeedback", "Version": __version__, "Description": "emg export --to bids"}
        ]
        _write_json(desc, description)
        result.written.append(desc)
        readme = root / "README"
        if not readme.exists():
            _write_text_atomic(
                readme,
                "Surface-EMG recordings exported by emg-biofeedback (`emg export --to bids`).\n"
                "Data: BDF+ in microvolts, raw (unfiltered); events from biofeedback drills in "
                "*_events.tsv.\n",
            )
            result.written.append(readme)
    part = root / "participants.tsv"
    if _add_row(part, "participant_id", {"participant_id": f"sub-{sub}"}, ["participant_id"]):
        result.updated.append(part)
    part_json = root / "participants.json"
    if not part_json.exists():
        _write_json(part_json, {"participant_id": {"Description": "Participant label (pseudonymous)"}})
        result.written.append(part_json)

    # 4. sessions and scans tables
    start = start_datetime(rec)
    acq_time = "n/a"
    if start is not None:
        acq_time = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if ses:
        sessions = subject_dir / f"sub-{sub}_sessions.tsv"
        if _add_row(
            sessions, "session_id", {"session_id": f"ses-{ses}", "acq_time": acq_time}, ["session_id", "acq_time"]
        ):
            result.updated.append(sessions)
    scans = session_dir / (f"sub-{sub}" + (f"_ses-{ses}" if ses else "") + "_scans.tsv")
    _replace_row(
        scans, "filename", {"filename": f"emg/{data_file.name}", "acq_time": acq_time}, ["filename", "acq_time"]
    )
    result.updated.append(scans)
    log.info("BIDS: wrote %s", data_file)
    return result


def validate_bids_emg(root: str | Path) -> list[str]:
    """Problems found in the BIDS-EMG dataset at ``root`` (empty list: none).

    Checks what this exporter promises: the dataset description, one participants row per subject
    folder, every EMG data file's sidecar (required BIDS-EMG fields and their types), channels.tsv
    (required columns, one row per signal, names equal to the data file's labels), events.tsv
    (onset, duration), and scans.tsv listing the data file. Reads the data headers with pyedflib.
    """
    import pyedflib

    root = Path(root)
    problems: list[str] = []
    desc = root / "dataset_description.json"
    try:
        meta = json.loads(desc.read_text(encoding="utf-8"))
        for key in ("Name", "BIDSVersion"):
            if key not in meta:
                problems.append(f"dataset_description.json lacks {key}")
    except (OSError, ValueError) as err:
        return [f"dataset_description.json unreadable: {err}"]
    _, parts = read_tsv(root / "participants.tsv")
    listed = {r.get("participant_id") for r in parts}
    subjects = sorted(p.name for p in root.glob("sub-*") if p.is_dir())
    for s in subjects:
        if s not in listed:
            problems.append(f"participants.tsv lacks {s}")
    if len(listed) != len(parts):
        problems.append("participants.tsv has duplicate rows")
    required = {
        "TaskName": str,
        "EMGPlacementScheme": str,
        "EMGReference": str,
        "SamplingFrequency": (int, float),
        "PowerLineFrequency": (int, float, str),
        "RecordingType": str,
        "SoftwareFilters": (dict, str),
    }
    for data in sorted(list(root.glob("sub-*/**/emg/*_emg.bdf")) + list(root.glob("sub-*/**/emg/*_emg.edf"))):
        rel = data.relative_to(root)
        stem = data.name[: -len("_emg.bdf")]
        m = re.match(
            r"^sub-([A-Za-z0-9]+)(_ses-([A-Za-z0-9]+))?_task-([A-Za-z0-9]+)(_acq-[A-Za-z0-9]+)?(_run-\d+)?$", stem
        )
        if not m:
            problems.append(f"{rel}: file name does not follow sub-<S>[_ses-<N>]_task-<T>[_acq-<A>][_run-<R>]_emg")
            continue
        if data.parent.parent.name != (f"ses-{m.group(3)}" if m.group(3) else f"sub-{m.group(1)}"):
            problems.append(f"{rel}: folder does not match the file name's entities")
        side_path = data.with_name(f"{stem}_emg.json")
        try:
            side = json.loads(side_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            problems.append(f"{side_path.relative_to(root)}: {err}")
            continue
        for key, kind in required.items():
            if key not in side:
                problems.append(f"{side_path.relative_to(root)} lacks {key}")
            elif not isinstance(side[key], kind):
                problems.append(f"{side_path.relative_to(root)}: {key} has the wrong type")
        if side.get("EMGPlacementScheme") not in ("ChannelSpecific", "Measured", "Other"):
            problems.append(f"{side_path.relative_to(root)}: EMGPlacementScheme is not ChannelSpecific/Measured/Other")
        if side.get("EMGPlacementScheme") == "Other" and not side.get("EMGPlacementSchemeDescription"):
            problems.append(f"{side_path.relative_to(root)}: EMGPlacementSchemeDescription required for 'Other'")
        if side.get("RecordingType") not in ("continuous", "epoched", "discontinuous"):
            problems.append(f"{side_path.relative_to(root)}: RecordingType invalid")
        if side.get("TaskName") != m.group(4):
            problems.append(f"{side_path.relative_to(root)}: TaskName differs from the task entity")
        reader = pyedflib.EdfReader(str(data))
        try:
            labels = [reader.getLabel(i) for i in range(reader.signals_in_file)]
            fs = reader.getSampleFrequency(0) if labels else 0
        finally:
            reader.close()
        if abs(float(side.get("SamplingFrequency", 0)) - fs) > 1e-6:
            problems.append(
                f"{side_path.relative_to(root)}: SamplingFrequency {side.get('SamplingFrequency')} != data file {fs}"
            )
        header, rows = read_tsv(data.with_name(f"{stem}_channels.tsv"))
        n_emg = sum(1 for r in rows if r.get("type") == "EMG")
        if side.get("EMGChannelCount", n_emg) != n_emg:
            problems.append(f"{side_path.relative_to(root)}: EMGChannelCount != {n_emg} EMG rows in channels.tsv")
        if any(r.get("type") != r.get("type", "").upper() for r in rows):
            problems.append(f"{stem}_channels.tsv: type must be upper case")
        for col in ("name", "type", "units"):
            if col not in header:
                problems.append(f"{stem}_channels.tsv lacks the {col} column")
        if header[:3] != ["name", "type", "units"]:
            problems.append(f"{stem}_channels.tsv must start with name, type, units")
        if [r.get("name") for r in rows] != labels:
            problems.append(f"{stem}_channels.tsv names {[r.get('name') for r in rows]} != data labels {labels}")
        ev_header, ev_rows = read_tsv(data.with_name(f"{stem}_events.tsv"))
        if ev_header[:2] != ["onset", "duration"]:
            problems.append(f"{stem}_events.tsv must start with onset, duration")
        for r in ev_rows:
            try:
                float(r["onset"])
            except (KeyError, ValueError):
                problems.append(f"{stem}_events.tsv: bad onset {r.get('onset')!r}")
                break
        scans_dir = data.parent.parent
        scans_name = f"sub-{m.group(1)}" + (f"_ses-{m.group(3)}" if m.group(3) else "") + "_scans.tsv"
        _, scan_rows = read_tsv(scans_dir / scans_name)
        if f"emg/{data.name}" not in {r.get("filename") for r in scan_rows}:
            problems.append(f"{scans_name} does not list emg/{data.name}")
    return problems
