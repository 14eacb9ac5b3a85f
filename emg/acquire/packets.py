"""Lost packets, from a board's package counter: the one detector, used by the acquisition (live, chunk by chunk),
the analysis (``quality.dropped_packets``) and the drill replay (DROPPED flags where the live drill had them).

Plain numpy, so the acquisition loads no signal core for it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from emg.errors import ConfigError


class PackageGaps(NamedTuple):
    """Lost packets in one run of package numbers (see :func:`package_gaps`).

    ``at`` (k,) int64: offsets (into the package numbers passed) of the samples that follow lost packets,
    ascending; ``lost`` (k,) int64: packets lost just before each (>= 1); ``step``: the counter's increment
    per packet (1, or 2 for boards that count by two; None while not yet known); ``last``: the last package
    number seen (None before any). Pass ``step`` and ``last`` (as ``previous``) to the next call.
    """

    at: np.ndarray
    lost: np.ndarray
    step: int | None
    last: float | None

    @property
    def total(self) -> int:
        """Packets lost in all."""
        return int(self.lost.sum())


def _none() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


def package_gaps(
    package_numbers: npt.ArrayLike, *, modulo: int, previous: float | None = None, step: int | None = None
) -> PackageGaps:
    """Where packets were lost, from a board's package counter ``package_numbers`` (n,) (one per sample).

    The counter wraps at ``modulo`` (``package_num_max + 1``: 256 for a Cyton). ``previous``: the last package
    number before these (a stream read in chunks: :attr:`PackageGaps.last` of the previous call), so a gap
    just before the first sample is found at offset 0. ``step``: the counter's increment per packet; None
    infers it as the smallest positive difference once at least 4 are seen (before that no gaps are reported
    and ``step`` stays None). Non-finite package numbers are skipped over (no gap is reported next to them).
    """
    pkg = np.asarray(package_numbers, dtype=np.float64).reshape(-1)
    if int(modulo) < 2:
        raise ConfigError(f"package counter modulo {modulo} is below 2; pass package_num_max + 1 of the board")
    if step is not None and int(step) < 1:
        raise ConfigError(f"package counter step {step} is not positive; pass 1, 2, ... or None to infer it")
    if pkg.size == 0:
        return PackageGaps(_none(), _none(), step, previous)
    seq = pkg if previous is None else np.concatenate(([float(previous)], pkg))
    last = float(pkg[-1])
    if seq.size < 2:
        return PackageGaps(_none(), _none(), step, last)
    diffs = np.mod(np.diff(seq), int(modulo))
    if step is None:
        positive = diffs[diffs > 0]
        if positive.size < 4:
            return PackageGaps(_none(), _none(), None, last)
        step = int(np.min(positive))
    gaps = diffs // int(step) - 1
    idx = np.flatnonzero(gaps > 0)
    if idx.size == 0:
        return PackageGaps(_none(), _none(), int(step), last)
    return PackageGaps(idx + (0 if previous is not None else 1), gaps[idx].astype(np.int64), int(step), last)
