"""What a session tells the user as it runs and leaves at the end: progress lines, the summary (JSON), the result."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from emg.errors import RecordingError
from feedback.events import jsonable

if TYPE_CHECKING:
    from dsp.live import LiveChain
    from emg.live.latency import LatencyMeter
    from emg.live.parts import RecordingParts
    from emg.live.screen import Screen
    from emg.live.stages import CalibrationStage
    from feedback.drill_base import Drill
    from feedback.events import DrillEvent

#: the LatencyMeter figures a summary carries
TIMING_KEYS = (
    "latency_ms",
    "processing_ms",
    "frame_ms",
    "frames",
    "fps",
    "busy_pct_of_one_core",
    "process_cpu_pct_of_one_core",
)


@dataclass
class SessionResult:
    """What a finished session produced."""

    summary: dict[str, Any]
    recordings: list[Path] = field(default_factory=list)
    summary_path: Path | None = None
    frame_png: Path | None = None
    board_lost: bool = False  # the board was lost and not reconnected: the session ended on it
    error: str = ""


def progress_line(ev: DrillEvent) -> str:
    """A short terminal line for the events a user follows (cues and results), else ''."""
    d = ev.data or {}
    if ev.label == "cue":
        text = str(d.get("text") or d.get("phase") or "").upper()
        band = d.get("band_pct")
        return f"{text}" + (f"  (band {band[0]:g}-{band[1]:g} %)" if band and text in ("CONTRACT", "HOLD") else "")
    if ev.label == "success":
        return f"rep {d.get('rep')}: success"
    if ev.label == "failure":
        return f"rep {d.get('rep')}: missed ({d.get('reason', '')})"
    if ev.label == "calibration_done":
        return "calibration accepted"
    if ev.label == "calibration_refused":
        return "calibration refused (the reason follows at the end)"
    if ev.label == "threshold_change":
        return f"{d.get('name')} {d.get('old_pct')} -> {d.get('new_pct')} % ({d.get('reason')})"
    if ev.label == "artefact":
        return f"not counting: {d.get('message', '')}"
    return ""


#: one channel in a refusal's text (dsp.calibration): "NAME (REF uV vs rest FLOOR +- SD uV, xRATIO)"
_REFUSED_CHANNEL = re.compile(
    r"(?: on |; )(?P<name>[^;()]+?) \((?P<ref>[-\d.e+]+) uV vs rest (?P<floor>[-\d.e+]+) \+- (?P<sd>[-\d.e+]+) uV, "
    r"x(?P<ratio>[-\d.e+inf]+)\)"
)


def refusal_lines(reason: str) -> list[str]:
    """A calibration refusal as a few short lines: what was refused, per channel its reference and rest (one
    line each), then what to do. A reason without per-channel figures stays one line."""
    channels = list(_REFUSED_CHANNEL.finditer(reason))
    if not channels:
        return [f"calibration refused: {reason}"]
    head = reason[: channels[0].start()].strip()
    tail = reason[channels[-1].end() :].lstrip(" ;")
    need, _, todo = tail.partition(": ")
    width = max(len(m["name"].strip()) for m in channels)
    out = [f"calibration refused: {head}"]
    for m in channels:
        out.append(
            f"  {m['name'].strip():<{width}}  reference {float(m['ref']):7.3g} uV   "
            f"rest {float(m['floor']):.3g} +- {float(m['sd']):.2g} uV"
        )
    if need and todo:
        out.append(f"  ({need})")
    out.append(f"what to do: {todo or tail}")
    return out


class ProgressLines:
    """One line per cue and result for a terminal (headless runs), ``"  12.3 s  CONTRACT ..."``."""

    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out
        self._last_calm = False

    def event(self, ev: DrillEvent) -> None:
        line = progress_line(ev)
        if ev.label == "cue":  # REST <-> RELAX flips while the level hovers at the threshold: once
            calm = line in ("REST", "RELAX")
            if calm and self._last_calm:
                line = ""
            self._last_calm = calm
        if line:
            self.out(f"{ev.t_s:7.1f} s  {line}")


class FinishedSession(Protocol):
    """What a summary reads from a session (:class:`emg.live.session.Session` has it all)."""

    board_name: str
    fs_hz: float
    channels: list[int]
    channel_names: list[str]
    envelope: str
    headless: bool
    calibration_source: str | None
    stop_reason: str
    board_lost: bool
    lost_error: str
    dropped_packets: int
    marks: int
    events_recorded: int
    cal_stage: CalibrationStage | None
    chain: LiveChain | None
    latency: LatencyMeter
    parts: RecordingParts
    screen: Screen

    @property
    def drill(self) -> Drill | None: ...

    @property
    def t_s(self) -> float: ...

    @property
    def samples_total(self) -> int: ...


def session_summary(session: FinishedSession) -> dict[str, Any]:
    """Reps attempted/succeeded, per-rep metrics, latency, time budget, calibration, recording parts."""
    drill = session.drill.summary() if session.drill is not None else {}
    cal = session.cal_stage
    timing = session.latency.report()
    return {
        "reps_planned": drill.get("reps_planned", session.drill.state.reps_planned if session.drill else None),
        "reps_attempted": drill.get("reps_attempted"),
        "reps_succeeded": drill.get("reps_succeeded"),
        "stopped_early": drill.get("stopped_early"),
        "reps": drill.get("reps", []),
        **{k: timing[k] for k in TIMING_KEYS},
        "drill": drill,
        "calibration": cal.flow.summary() if cal is not None else {"source": session.calibration_source or "given"},
        "calibration_file": str(cal.file) if cal is not None and cal.file else None,
        "calibration_refused": (cal.refusal if cal is not None else "") or None,
        "board": session.board_name,
        "fs_hz": session.fs_hz,
        "n_channels": len(session.channel_names),
        "channel_names": session.channel_names,
        "channels_used": [c + 1 for c in session.channels],
        "duration_s": round(session.t_s, 4),
        "samples": session.samples_total,
        "dropped_packets": session.dropped_packets,
        "board_lost": session.board_lost or bool(session.lost_error),  # at any time during the session
        "board_lost_at_end": session.board_lost,
        "board_error": session.lost_error or None,
        "stop_reason": session.stop_reason,
        "recordings": [str(p) for p in session.parts.paths],
        "events_recorded": session.events_recorded,
        "marks": session.marks,
        "filters": session.chain.design.describe() if session.chain is not None else None,
        "envelope": session.envelope,
        "headless": session.headless,
        "tone": session.screen.tone_summary(),
    }


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """The session summary as JSON (non-finite numbers as null); RecordingError (one line) if it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(jsonable(summary), indent=2, allow_nan=False)
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as err:
        raise RecordingError(
            f"cannot write the session summary {path} ({err.strerror}); the recording is kept"
        ) from None
