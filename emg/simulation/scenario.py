"""Scenarios: what happens during a simulated recording (the cue protocol, physiology switches, artefacts).

A scenario TOML file (``scenarios/*.toml`` or a custom file)::

    name = "reps"
    description = "Repeated contract-hold-relax reps at 50 % of reference"
    patient = "post_op_quadriceps"     # default patient (--patient overrides)
    duration_s = 120                   # default duration (--duration overrides)

    [physiology]                       # switches (absent: the patient preset decides)
    fatigue = true
    tremor = false
    cocontraction = true

    [protocol]
    channel = 0                        # 0-based channel the cues address
    lead_in_s = 5                      # rest before the first step
    repeat = true                      # repeat the steps until the duration ends
    [[protocol.steps]]
    phase = "contract"                 # contract | hold | relax | rest
    target_pct = 50                    # % of reference
    duration_s = 1.5
    # channel = 1, targets = [[0, 50], [1, 0]] for multi-channel goals

    [artefacts.mains]                  # see emg.simulation.artefacts
    enabled = true
    frequency_hz = 50
    [[artefacts.events]]
    kind = "pop"
    time_s = 30
    channels = [0]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emg.errors import ConfigError
from emg.simulation.artefacts import ArtefactConfig, artefacts_from_dict
from emg.simulation.params import SCENARIO_DIR, check_range, list_scenarios, looks_like_path, read_toml
from emg.simulation.patient import ACTIVE_PHASES, RELAX_PHASES

DEFAULT_SCENARIO = "reps"


@dataclass
class Step:
    phase: str
    duration_s: float
    target_pct: float = 0.0
    channel: int | None = None
    targets: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class Scenario:
    name: str = "custom"
    description: str = ""
    patient: str = "healthy"
    duration_s: float = 60.0
    channel: int = 0
    lead_in_s: float = 5.0
    repeat: bool = True
    steps: list[Step] = field(default_factory=list)
    physiology: dict[str, bool] = field(default_factory=dict)
    artefacts: ArtefactConfig = field(default_factory=ArtefactConfig)
    accel_sway_g: float | None = None
    source: str = ""

    def cues(self, duration_s: float) -> list[tuple[float, dict[str, Any]]]:
        """The cue timeline ``[(time_s, cue), ...]`` for a run of ``duration_s``; cue dicts as
        :meth:`emg.simulation.patient.PatientModel.set_cue` takes them, plus ``rep`` (1-based)."""
        out: list[tuple[float, dict[str, Any]]] = [
            (0.0, {"phase": "rest", "target_pct": 0.0, "channel": self.channel, "rep": 0})
        ]
        if not self.steps:
            return out
        t = self.lead_in_s
        rep = 0
        while t < duration_s:
            for st in self.steps:
                if t >= duration_s:
                    break
                if st.phase == "contract":
                    rep += 1
                cue = {
                    "phase": st.phase,
                    "target_pct": st.target_pct,
                    "channel": self.channel if st.channel is None else st.channel,
                    "rep": rep,
                }
                if st.targets:
                    cue["targets"] = [list(x) for x in st.targets]
                out.append((t, cue))
                t += st.duration_s
            if not self.repeat:
                break
        if t < duration_s and out[-1][1]["phase"] not in RELAX_PHASES:
            out.append((t, {"phase": "rest", "target_pct": 0.0, "channel": self.channel, "rep": rep}))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "patient": self.patient,
            "duration_s": self.duration_s,
            "channel": self.channel,
            "lead_in_s": self.lead_in_s,
            "repeat": self.repeat,
            "physiology": dict(self.physiology),
            "source": self.source,
            "steps": [
                {
                    "phase": s.phase,
                    "duration_s": s.duration_s,
                    "target_pct": s.target_pct,
                    **({"channel": s.channel} if s.channel is not None else {}),
                    **({"targets": [list(t) for t in s.targets]} if s.targets else {}),
                }
                for s in self.steps
            ],
        }


def scenario_from_dict(data: dict[str, Any], *, name: str = "custom", source: str = "") -> Scenario:
    """A validated :class:`Scenario` from the TOML structure."""
    allowed = {
        "name",
        "description",
        "patient",
        "duration_s",
        "physiology",
        "protocol",
        "artefacts",
        "mains_hz",
        "accel",
    }
    unknown = sorted(set(data) - allowed)
    sname = str(data.get("name", name))
    w = f"scenario {sname!r}: "
    if unknown:
        raise ConfigError(f"{w}unknown key {unknown[0]!r}; known: {', '.join(sorted(allowed))}")
    proto = data.get("protocol", {}) or {}
    if not isinstance(proto, dict):
        raise ConfigError(f"{w}[protocol] must be a table")
    bad = sorted(set(proto) - {"channel", "lead_in_s", "repeat", "steps"})
    if bad:
        raise ConfigError(f"{w}protocol: unknown key {bad[0]!r}; known: channel, lead_in_s, repeat, steps")
    steps = []
    for i, st in enumerate(proto.get("steps", []) or []):
        sw = f"{w}protocol.steps[{i}]."
        if not isinstance(st, dict):
            raise ConfigError(f"{sw[:-1]} must be a table")
        extra = sorted(set(st) - {"phase", "duration_s", "target_pct", "channel", "targets"})
        if extra:
            raise ConfigError(f"{sw}{extra[0]} is unknown; known: phase, duration_s, target_pct, channel, targets")
        phase = str(st.get("phase", ""))
        if phase not in ACTIVE_PHASES + RELAX_PHASES:
            raise ConfigError(f"{sw}phase = {phase!r} is unknown; use contract, hold, relax or rest")
        dur = check_range(sw, "duration_s", st.get("duration_s", 1.0), 0.0, 86400.0, lo_open=True)
        tgt = check_range(sw, "target_pct", st.get("target_pct", 0.0), 0.0, 300.0)
        ch = st.get("channel")
        if ch is not None and (not isinstance(ch, int) or ch < 0):
            raise ConfigError(f"{sw}channel = {ch!r} must be a 0-based channel index")
        targets = [(int(c), float(p)) for c, p in (st.get("targets") or [])]
        steps.append(Step(phase, dur, tgt, ch, targets))
    phys = data.get("physiology", {}) or {}
    badp = sorted(set(phys) - {"fatigue", "tremor", "cocontraction"})
    if badp:
        raise ConfigError(f"{w}physiology: unknown switch {badp[0]!r}; known: fatigue, tremor, cocontraction")
    arts = dict(data.get("artefacts", {}) or {})
    if "mains_hz" in data:
        mains = dict(arts.get("mains", {}) or {})
        mains.setdefault("frequency_hz", data["mains_hz"])
        mains.setdefault("enabled", True)
        arts["mains"] = mains
    try:
        artefacts = artefacts_from_dict(arts)
    except ConfigError as err:
        raise ConfigError(f"{w}{err}") from None
    accel = data.get("accel", {}) or {}
    sway = accel.get("sway_g")
    if sway is not None:
        check_range(f"{w}accel.", "sway_g", sway, 0.0, 2.0)
    ch0 = proto.get("channel", 0)
    if not isinstance(ch0, int) or ch0 < 0:
        raise ConfigError(f"{w}protocol.channel = {ch0!r} must be a 0-based channel index")
    return Scenario(
        name=sname,
        description=str(data.get("description", "")),
        patient=str(data.get("patient", "healthy")),
        duration_s=check_range(w, "duration_s", data.get("duration_s", 60.0), 0.0, 86400.0, lo_open=True),
        channel=ch0,
        lead_in_s=check_range(f"{w}protocol.", "lead_in_s", proto.get("lead_in_s", 5.0), 0.0, 86400.0),
        repeat=bool(proto.get("repeat", True)),
        steps=steps,
        physiology={k: bool(v) for k, v in phys.items()},
        artefacts=artefacts,
        accel_sway_g=None if sway is None else float(sway),
        source=source,
    )


def load_scenario(name_or_path: str | Path | Scenario | None = None) -> Scenario:
    """A shipped scenario by name (``reps``, ``sustained``, ...) or a custom TOML file; None: the default."""
    if isinstance(name_or_path, Scenario):
        return name_or_path
    text = DEFAULT_SCENARIO if name_or_path is None else str(name_or_path)
    if isinstance(name_or_path, Path) or looks_like_path(text):
        path = Path(text)
        return scenario_from_dict(read_toml(path, "scenario"), name=path.stem, source=str(path))
    key = text.strip().lower().replace("-", "_")
    path = SCENARIO_DIR / f"{key}.toml"
    if not path.is_file():
        raise ConfigError(
            f"unknown scenario {text!r}; use one of: {', '.join(list_scenarios())} or the path of a .toml file"
        )
    return scenario_from_dict(read_toml(path, "scenario"), name=key, source=str(path))
