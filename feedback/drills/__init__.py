"""Drills: load a TOML drill file and build its state machine.

    cfg = load_drill("feedback/drills/reach_hold_quadriceps.toml")    # or find_drill("reach_hold_quadriceps")
    drill = make_drill(cfg, fs_hz=250, n_channels=8, channel_names=names)
    events = drill.update(t_s, activation_pct, flags, accel_g)          # list[DrillEvent]
    drill.cue, drill.state, drill.finished, drill.summary()

This folder also holds the shipped example drill files (``*.toml``, one or more per kind).
"""

from __future__ import annotations

from pathlib import Path

from feedback.assessment import AssessmentDrill
from feedback.awareness import AwarenessDrill
from feedback.balance import BalanceDrill
from feedback.downtrain import DowntrainDrill
from feedback.drill_base import Drill
from feedback.drill_config import KINDS, DrillConfig, load_drill, parse_drill
from feedback.errors import DrillConfigError
from feedback.events import DrillEvent
from feedback.isolation import IsolationDrill
from feedback.reach_hold import ReachHoldDrill
from feedback.state import Cue, DrillState
from feedback.stretch import StretchDrill
from feedback.symmetry import SymmetryDrill
from feedback.tracking import TrackingDrill

SHIPPED_DIR = Path(__file__).resolve().parent

DRILL_CLASSES: dict[str, type[Drill]] = {
    "reach_hold": ReachHoldDrill,
    "downtrain": DowntrainDrill,
    "tracking": TrackingDrill,
    "isolation": IsolationDrill,
    "symmetry": SymmetryDrill,
    "balance": BalanceDrill,
    "stretch": StretchDrill,
    "awareness": AwarenessDrill,
    "assessment": AssessmentDrill,
}
assert set(DRILL_CLASSES) == set(KINDS)

__all__ = [
    "Cue",
    "Drill",
    "DrillConfig",
    "DrillConfigError",
    "DrillEvent",
    "DrillState",
    "DRILL_CLASSES",
    "SHIPPED_DIR",
    "find_drill",
    "load_drill",
    "make_drill",
    "parse_drill",
    "shipped_drills",
]


def shipped_drills() -> list[Path]:
    """The example drill files shipped with the package, sorted by name."""
    return sorted(SHIPPED_DIR.glob("*.toml"))


def find_drill(name_or_path: str | Path) -> Path:
    """A drill file path from a path, or from a shipped drill's name (with or without ``.toml``)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    stem = p.name[:-5] if p.name.endswith(".toml") else p.name
    candidate = SHIPPED_DIR / f"{stem}.toml"
    if candidate.is_file() and p.parent == Path("."):
        return candidate
    names = ", ".join(x.stem for x in shipped_drills())
    raise DrillConfigError(
        f"drill {str(name_or_path)!r} not found (neither a file nor a shipped drill); "
        f"give a path to a .toml file or one of: {names}"
    )


def make_drill(
    config: DrillConfig | str | Path, *, fs_hz: float, n_channels: int, channel_names: list[str] | None = None
) -> Drill:
    """Build the state machine for a drill config (or a file path / shipped name) for one session."""
    if not isinstance(config, DrillConfig):
        config = load_drill(find_drill(config))
    return DRILL_CLASSES[config.kind](config, fs_hz=fs_hz, n_channels=n_channels, channel_names=channel_names)
