"""The in-memory form of a recording, whatever file it came from.

Every reader (the project's BrainFlow file + JSON sidecar, OpenBCI GUI text, EDF/BDF, plain CSV)
returns a :class:`Recording`; analysis, reports, export and replay work on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Event:
    """Something that happened at one sample: a cue, a rep start/end, a mark, an artefact flag.

    ``data`` carries structured details (e.g. ``{"target_pct": [40, 60]}``) and is stored as JSON.
    """

    label: str
    sample: int
    time_s: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recording:
    """EMG channels in microvolts, channels x samples, with what is known about them."""

    data_uv: np.ndarray
    fs_hz: float
    channel_names: list[str]
    muscles: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    timestamps: np.ndarray | None = None  # (n,) board timestamps, unix seconds
    accel: np.ndarray | None = None  # (3, n) accelerometer in g, where the board has one
    package_num: np.ndarray | None = None  # (n,) board package counter, for dropped-packet checks
    source_format: str = ""
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # sidecar / header fields

    @property
    def n_channels(self) -> int:
        return int(self.data_uv.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.data_uv.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz if self.fs_hz else 0.0
