"""A session's board and its recording, in parts, and the session clock.

Part 1 is the session (``NAME.csv``); after a lost board, part N (``NAME.partN.csv``, see
:func:`emg.recordings.writer.part_path`) continues it on the board found again. Session time counts the
samples of every part (``t_s = sample / fs_hz``), so drill times and recording samples agree exactly. Events
go into the current part at their sample, posted to its recording's writer: the live loop never waits on the
disk, and an event after the part's recording closed (a lost board) is appended to it by that writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emg.errors import ConfigError
from emg.recordings.writer import part_path

if TYPE_CHECKING:
    from emg.acquire.acquisition import Acquisition, Chunk


@dataclass
class Montage:
    """The board channels a session uses and what they are called."""

    channels: list[int]  # board channel indices, 0-based
    names: list[str]  # per used channel: its muscle where known, else the board's channel name
    board_channel_names: list[str]  # per used channel
    muscles: list[str]  # per used channel, '' where unknown
    board_name: str


def montage(acq: Acquisition, channels: list[int] | None) -> Montage:
    """The montage on ``acq``'s board (``channels``: None for all); ConfigError (one line) for a missing channel.
    A played-back recording keeps its own muscle labels and board name."""
    n_board = acq.n_channels
    used = list(channels) if channels else list(range(n_board))
    bad = [c for c in used if not 0 <= c < n_board]
    if bad:
        raise ConfigError(
            f"channel {bad[0] + 1} does not exist on board {acq.preset.name} ({n_board} channels); "
            f"choose channels 1-{n_board}"
        )
    muscles = list(acq.muscles)
    played = dict(getattr(acq.source, "recording_meta", {}) or {})
    if not any(muscles) and played.get("muscles"):
        muscles = list(played["muscles"])
    muscles = [muscles[c] if c < len(muscles) and muscles[c] else "" for c in used]
    board_names = [acq.channel_names[c] for c in used]
    board = str(played.get("board_name") or getattr(acq.source, "board_name", "") or acq.preset.name)
    return Montage(used, [m or b for m, b in zip(muscles, board_names, strict=True)], board_names, muscles, board)


class RecordingParts:
    """``acquire(part, path)`` builds a (not yet started) Acquisition recording to ``path``.
    ``duration_s``: the recordings end exactly where the session does."""

    def __init__(
        self, acquire: Callable[[int, Path], Acquisition], record_to: Path, duration_s: float | None = None
    ) -> None:
        self.acquire = acquire
        self.record_to = record_to
        self.duration_s = duration_s
        self.acq: Acquisition | None = None  # the current part's
        self.paths: list[Path] = []
        self.fs_hz = 0.0
        self.samples_total = 0  # over all parts
        self.t0_s = 0.0  # session time of the current part's first sample

    @property
    def part(self) -> int:
        """The current part (1, 2, ...; 0 before the first)."""
        return len(self.paths)

    @property
    def t_s(self) -> float:
        """Session time (s) just after the last sample received."""
        return self.samples_total / self.fs_hz if self.fs_hz else 0.0

    def open_next(self) -> Acquisition:
        """Start the next part's board and recording (the previous part's posted events are written first)."""
        path = part_path(self.record_to, self.part + 1)
        acq = self.acquire(self.part + 1, path)
        acq.start()
        if self.acq is not None:
            self.acq.flush_events()
        if self.duration_s is not None:
            acq.max_samples = max(1, int(round(self.duration_s * acq.fs_hz)) - self.samples_total)
        self.acq = acq
        self.fs_hz = acq.fs_hz
        self.paths.append(path)
        self.t0_s = self.t_s
        return acq

    def take(self, chunk: Chunk) -> float:
        """Count a chunk of the current part; returns the session time of its first sample."""
        self.samples_total = self._first_sample() + chunk.first_sample + chunk.n_samples
        return self.t0_s + chunk.first_sample / self.fs_hz

    def post(self, label: str, t_s: float | None, data: dict[str, Any]) -> None:
        """An event at session time ``t_s`` (None: the last sample) into the current part, without waiting."""
        n = self.samples_total - self._first_sample()  # samples in this part so far
        sample = n - 1 if t_s is None else int(round((t_s - self.t0_s) * self.fs_hz))
        self.acq.post_event(label, max(min(sample, n - 1), 0), data)  # an event at the end sits on the last sample

    def close(self, reason: str) -> None:
        """Stop the current part's board and close its recording (posted events in); then any later events."""
        if self.acq is not None:
            self.acq.stop(reason)
            self.acq.flush_events()

    def flush_events(self) -> None:
        """Wait until every event posted so far is in its sidecar."""
        if self.acq is not None:
            self.acq.flush_events()

    def _first_sample(self) -> int:
        return int(round(self.t0_s * self.fs_hz))
