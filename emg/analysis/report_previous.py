"""The previous session: the newest earlier recording of the same patient in the same folder, analysed alike."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RECORDING_FORMAT = "emg-biofeedback recording"


def _patient_id(p: Any) -> Any:
    return p.get("id") if isinstance(p, dict) else p


def find_previous(path: str | Path, patient: Any, start_time: str | None) -> Path | None:
    """The data file of the newest project recording in ``path``'s folder with the same patient (id) that
    started before ``start_time``; None when there is none (or the start time is unknown)."""
    if not start_time:
        return None
    here = Path(path).resolve()
    best: tuple[str, Path] | None = None
    for side in sorted(here.parent.glob("*.json")):
        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or meta.get("format") != RECORDING_FORMAT:
            continue
        data = side.with_name(str(meta.get("data_file") or side.with_suffix(".csv").name))
        t = meta.get("start_time")
        if not t or data.resolve() == here or not data.exists():
            continue
        pat = meta.get("patient")
        if pat is None and isinstance(meta.get("calibration"), dict):
            pat = (meta["calibration"].get("meta") or {}).get("patient")
        if _patient_id(pat) != _patient_id(patient) or str(t) >= str(start_time):
            continue
        if best is None or str(t) > best[0]:
            best = (str(t), data)
    return best[1] if best else None


def previous_summary(path: str | Path, summary: dict[str, Any], settings: Any) -> dict[str, Any] | None:
    """The analysis JSON of the previous session (same settings), or None; a recording that cannot be
    analysed is logged and skipped (the report then says "first session" only when none exists)."""
    from dataclasses import replace

    from emg.analysis.analyze import analyze_file

    prev = find_previous(path, (summary.get("session") or {}).get("patient_id"), summary.get("start_time"))
    if prev is None:
        return None
    try:
        return analyze_file(prev, replace(settings, keep_signals=False))
    except Exception as err:  # noqa: BLE001 - the previous session is context; this report must still be written
        log.warning("previous session %s could not be analysed: %s", prev, err)
        return {"path": str(prev), "error": str(err)}
