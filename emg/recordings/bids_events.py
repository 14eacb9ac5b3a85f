"""Reading a BIDS-EMG dataset's tables: ``*_events.tsv`` beside an exported EDF/BDF file.

The export (:mod:`emg.export.bids`) writes these tables; reading them back belongs to the recordings,
so :mod:`emg.recordings.readers` can take whole event labels and data from them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from emg.recordings.recording import Event


def read_tsv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows as dicts) of a tab-separated table; ([], []) when the file does not exist."""
    if not path.exists():
        return [], []
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    if not rows:
        return [], []
    header = rows[0]
    return header, [dict(zip(header, r + [""] * (len(header) - len(r)), strict=False)) for r in rows[1:] if any(r)]


def read_bids_events(data_file: str | Path) -> list[Event] | None:
    """The events of a BIDS-EMG data file from its sibling ``*_events.tsv``, with their full data.

    ``sub-01_task-x_emg.bdf`` -> ``sub-01_task-x_events.tsv``; None when there is no such table.
    Samples come from the ``sample`` column where present, else from onset x SamplingFrequency
    (``*_emg.json``). A reader can prefer these to the EDF+ annotations, which keep only the label.
    """
    p = Path(data_file)
    stem = re.sub(r"_emg\.(bdf|edf)$", "", p.name)
    if stem == p.name:
        return None
    table = p.with_name(f"{stem}_events.tsv")
    if not table.is_file():
        return None
    fs = None
    side = p.with_name(f"{stem}_emg.json")
    if side.is_file():
        try:
            fs = float(json.loads(side.read_text(encoding="utf-8")).get("SamplingFrequency"))
        except (ValueError, TypeError):
            fs = None
    header, rows = read_tsv(table)
    events = []
    for r in rows:
        try:
            onset = float(r["onset"])
        except (KeyError, ValueError):
            continue
        sample_text = r.get("sample", "n/a")
        sample = int(float(sample_text)) if sample_text not in ("", "n/a") else int(round(onset * (fs or 0)))
        data: dict[str, Any] = {}
        if r.get("data") not in (None, "", "n/a"):
            try:
                loaded = json.loads(r["data"])
                data = loaded if isinstance(loaded, dict) else {"value": loaded}
            except ValueError:
                data = {"text": r["data"]}
        if r.get("duration") not in (None, "", "n/a"):
            try:
                data.setdefault("duration_s", float(r["duration"]))
            except ValueError:
                pass
        label = r.get("trial_type") or r.get("value") or "event"
        events.append(Event(label=label, sample=sample, time_s=onset, data=data))
    return events
