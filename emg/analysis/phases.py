"""The parts of a session recording, from its events: calibration, drill, and the drill's work/rest phases.

``session_phases(events, duration_s) -> SessionPhases``. Labels are those of :mod:`feedback.events`:

- calibration: from a ``drill_start`` of kind ``calibration`` (or the first ``calibration_phase``) to its
  ``calibration_done`` / ``calibration_refused`` / ``drill_end``;
- drill: from the first other ``drill_start`` (else the first ``rep_start``) to its ``drill_end`` (else the
  recording's end);
- work phases: the drill's ``cue`` events with phase ``contract`` or ``hold`` until the next ``relax``/``rest``
  cue; rest phases: ``relax``/``rest`` cues until the next work cue. Each phase carries the rep (set, rep)
  open when it began (a rest phase belongs to the rep whose work it follows) and, for an assessment, the
  protocol block (``phase_start``/``phase_end``: ``pre_baseline``, ``quick``, ``holds``, ``endurance``,
  ``post_baseline``). Baseline blocks are rest; an endurance block without work cues is one work phase.
Times are seconds from the first sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

WORK_CUES = ("contract", "hold")
REST_CUES = ("relax", "rest")
BASELINE_BLOCKS = ("pre_baseline", "post_baseline")


@dataclass(frozen=True)
class Phase:
    """A work or rest phase of the drill."""

    kind: str  # "work" or "rest"
    start_s: float
    end_s: float
    set: int | None = None
    rep: int | None = None
    block: str | None = None  # assessment protocol block, else None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start_s": round(self.start_s, 4),
            "end_s": round(self.end_s, 4),
            "set": self.set,
            "rep": self.rep,
            "block": self.block,
        }


@dataclass(frozen=True)
class Block:
    """An assessment protocol block (``phase_start`` .. ``phase_end``)."""

    name: str
    index: int | None
    start_s: float
    end_s: float
    planned_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "index": self.index,
            "start_s": round(self.start_s, 4),
            "end_s": round(self.end_s, 4),
            "planned_s": self.planned_s,
        }


@dataclass
class SessionPhases:
    """Calibration and drill spans (s) and the drill's phases; ``None`` spans when absent."""

    calibration_s: tuple[float, float] | None = None
    drill_s: tuple[float, float] | None = None
    drill_kind: str | None = None
    drill_name: str | None = None
    phases: list[Phase] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    def work(self) -> list[Phase]:
        return [p for p in self.phases if p.kind == "work"]

    def rest(self) -> list[Phase]:
        return [p for p in self.phases if p.kind == "rest"]

    def after(self, t_s: float) -> SessionPhases:
        """The same parts with every phase cut to start no earlier than ``t_s`` (e.g. the end of the
        calibration's last contraction, which can outlast its cue)."""
        phases = [replace(p, start_s=max(p.start_s, t_s)) for p in self.phases if p.end_s > t_s]
        drill = (max(self.drill_s[0], t_s), self.drill_s[1]) if self.drill_s else None
        return replace(self, phases=phases, drill_s=drill)

    def to_dict(self) -> dict[str, Any]:
        span = lambda s: [round(s[0], 4), round(s[1], 4)] if s else None  # noqa: E731
        return {
            "calibration_s": span(self.calibration_s),
            "drill_s": span(self.drill_s),
            "drill_kind": self.drill_kind,
            "drill_name": self.drill_name,
            "phases": [p.to_dict() for p in self.phases],
            "blocks": [b.to_dict() for b in self.blocks],
        }


def _label(e: Any) -> str:
    return e.label if hasattr(e, "label") else e["label"]


def _time(e: Any) -> float:
    return float(e.time_s if hasattr(e, "time_s") else e["time_s"])


def _data(e: Any) -> dict[str, Any]:
    d = e.data if hasattr(e, "data") else e.get("data")
    return d if isinstance(d, dict) else {}


def session_phases(events: Sequence[Any], duration_s: float) -> SessionPhases:
    """Split a recording's events (``Event`` objects or their dicts) into calibration, drill and phases."""
    ev = sorted(events, key=_time)
    out = SessionPhases()
    out.calibration_s = _calibration_span(ev, duration_s)
    start = next((e for e in ev if _label(e) == "drill_start" and _data(e).get("kind") != "calibration"), None)
    if start is None:
        start = next((e for e in ev if _label(e) == "rep_start"), None)
        if start is None:
            return out
    t0 = _time(start)
    end = next((e for e in ev if _label(e) == "drill_end" and _time(e) >= t0), None)
    t1 = _time(end) if end is not None else float(duration_s)
    out.drill_s = (t0, t1)
    if _label(start) == "drill_start":
        out.drill_kind = _data(start).get("kind")
        out.drill_name = _data(start).get("name")
    inside = [e for e in ev if t0 <= _time(e) <= t1]
    out.blocks = _blocks(inside, t1)
    out.phases = _phases(inside, t0, t1, out.blocks)
    return out


def _calibration_span(ev: list[Any], duration_s: float) -> tuple[float, float] | None:
    start = next(
        (
            e
            for e in ev
            if (_label(e) == "drill_start" and _data(e).get("kind") == "calibration")
            or _label(e) == "calibration_phase"
        ),
        None,
    )
    if start is None:
        return None
    t0 = _time(start)
    end = next(
        (e for e in ev if _time(e) >= t0 and _label(e) in ("calibration_done", "calibration_refused", "drill_end")),
        None,
    )
    return (t0, _time(end) if end is not None else float(duration_s))


def _blocks(ev: list[Any], t_end: float) -> list[Block]:
    out = []
    open_: dict[str, tuple[float, dict[str, Any]]] = {}
    for e in ev:
        d = _data(e)
        name = str(d.get("name") or "")
        if _label(e) == "phase_start" and name:
            open_[name] = (_time(e), d)
        elif _label(e) == "phase_end" and name in open_:
            t0, d0 = open_.pop(name)
            out.append(Block(name, d0.get("index"), t0, _time(e), d0.get("duration_s")))
    for name, (t0, d0) in open_.items():  # a block the recording stopped in
        out.append(Block(name, d0.get("index"), t0, t_end, d0.get("duration_s")))
    return sorted(out, key=lambda b: b.start_s)


def _block_at(blocks: list[Block], t: float) -> str | None:
    for b in blocks:
        if b.start_s <= t < b.end_s:
            return b.name
    return None


def _phases(ev: list[Any], t0: float, t1: float, blocks: list[Block]) -> list[Phase]:
    """Work/rest phases from the cue events (consecutive cues of one kind are one phase)."""
    marks: list[tuple[float, str, tuple[int | None, int | None]]] = []
    rep: tuple[int | None, int | None] = (None, None)
    for e in ev:
        d = _data(e)
        if _label(e) == "rep_start":
            rep = (d.get("set"), d.get("rep"))
        elif _label(e) == "cue":
            ph = d.get("phase")
            kind = "work" if ph in WORK_CUES else "rest" if ph in REST_CUES else None
            if kind is None:
                continue
            block = _block_at(blocks, _time(e))
            if block in BASELINE_BLOCKS:
                kind = "rest"
            if marks and marks[-1][1] == kind:
                if kind == "work" and marks[-1][2] != rep:  # a new rep's work straight after the last
                    marks.append((_time(e), kind, rep))
                continue
            marks.append((_time(e), kind, rep if kind == "work" else (marks[-1][2] if marks else (None, None))))
    phases = []
    for k, (ts, kind, (s, r)) in enumerate(marks):
        te = marks[k + 1][0] if k + 1 < len(marks) else t1
        if te > ts:
            phases.append(Phase(kind, ts, te, s, r, _block_at(blocks, ts)))
    # assessment blocks the cues did not cover: baselines are rest, an endurance hold is work
    for b in blocks:
        if any(p.start_s < b.end_s and p.end_s > b.start_s and p.block == b.name for p in phases):
            continue
        kind = "rest" if b.name in BASELINE_BLOCKS else "work" if b.name == "endurance" else None
        if kind:
            phases.append(Phase(kind, b.start_s, b.end_s, None, None, b.name))
    if not phases and t1 > t0:
        return []
    return sorted(phases, key=lambda p: p.start_s)
