"""Signal-quality flags, streaming, per sample.

Flags are bits of :class:`QualityFlag` in a (C, n) uint8 array:
RAILED (at the ADC rail), FLAT (no change for ``flat_window_s``), NAN (non-finite), SPIKE (a jump larger
than ``spike_uv`` between samples: motion or cable artefact, held for ``spike_hold_s``), LEAD_OFF (railed or
flat for longer than ``lead_off_s``: electrode off or cable out), DROPPED (packets were lost just before
this sample; set from the acquisition's count).
"""

from __future__ import annotations

import enum

import numpy as np
from numba import njit

from dsp._chain import as_signal
from dsp.errors import SignalError

class QualityFlag(enum.IntFlag):
    OK = 0
    RAILED = 1
    FLAT = 2
    NAN = 4
    SPIKE = 8
    LEAD_OFF = 16
    DROPPED = 32


_RAILED = int(QualityFlag.RAILED)
_FLAT = int(QualityFlag.FLAT)
_NAN = int(QualityFlag.NAN)
_SPIKE = int(QualityFlag.SPIKE)
_LEAD_OFF = int(QualityFlag.LEAD_OFF)


@njit(cache=True)
def _monitor_kernel(x, flags, rail, flat_step, flat_n, spike_uv, spike_hold, lead_n, last, flat_run, bad_run, spike_left):
    n_ch, n = x.shape
    for c in range(n_ch):
        prev = last[c]
        fr = flat_run[c]
        br = bad_run[c]
        sl = spike_left[c]
        for t in range(n):
            v = x[c, t]
            f = 0
            if not np.isfinite(v):
                f |= _NAN
                br += 1
            else:
                railed = abs(v) >= rail
                if railed:
                    f |= _RAILED
                if np.isfinite(prev):
                    d = abs(v - prev)
                    if d <= flat_step:
                        fr += 1
                    else:
                        fr = 0
                    if d > spike_uv and not railed:
                        sl = spike_hold
                if fr >= flat_n:
                    f |= _FLAT
                if railed or fr >= flat_n:
                    br += 1
                else:
                    br = 0
                prev = v
            if sl > 0:
                f |= _SPIKE
                sl -= 1
            if br >= lead_n:
                f |= _LEAD_OFF
            flags[c, t] = f
        last[c] = prev
        flat_run[c] = fr
        bad_run[c] = br
        spike_left[c] = sl


class QualityMonitor:
    """Streaming per-sample quality flags: ``update(chunk_uv (C, n), dropped=0) -> flags (C, n) uint8``."""

    def __init__(
        self,
        fs_hz: float,
        n_channels: int,
        rail_uv: float | None = None,
        *,
        rail_margin: float = 0.99,
        flat_window_s: float = 0.25,
        flat_step_uv: float = 1e-3,
        spike_uv: float = 2000.0,
        spike_hold_s: float = 0.1,
        lead_off_s: float = 1.0,
    ) -> None:
        if fs_hz <= 0 or (rail_uv is not None and rail_uv <= 0):
            raise SignalError("QualityMonitor needs a positive fs_hz and rail_uv; pass the board's rate and ADC rail")
        self.fs_hz = float(fs_hz)
        self.n_channels = int(n_channels)
        self.rail_uv = None if rail_uv is None else float(rail_uv)
        self._rail = np.inf if rail_uv is None else float(rail_uv) * rail_margin
        self._flat_step = float(flat_step_uv)
        self._flat_n = max(2, int(round(flat_window_s * fs_hz)))
        self._spike_uv = float(spike_uv)
        self._spike_hold = max(1, int(round(spike_hold_s * fs_hz)))
        self._lead_n = max(1, int(round(lead_off_s * fs_hz)))
        self.reset()

    def reset(self) -> None:
        self._last = np.full(self.n_channels, np.nan)
        self._flat_run = np.zeros(self.n_channels, dtype=np.int64)
        self._bad_run = np.zeros(self.n_channels, dtype=np.int64)
        self._spike_left = np.zeros(self.n_channels, dtype=np.int64)

    def update(self, chunk_uv, dropped: int = 0) -> np.ndarray:
        """Flags (C, n) uint8 for the next raw chunk; ``dropped`` packets lost before it set DROPPED on sample 0."""
        x = as_signal(chunk_uv, self.n_channels, name="chunk")
        flags = np.zeros(x.shape, dtype=np.uint8)
        _monitor_kernel(x, flags, self._rail, self._flat_step, self._flat_n, self._spike_uv, self._spike_hold,
                        self._lead_n, self._last, self._flat_run, self._bad_run, self._spike_left)
        if dropped and x.shape[1]:
            flags[:, 0] |= np.uint8(QualityFlag.DROPPED)
        return flags


def describe_flags(flags: int) -> str:
    """Human words for a flag value, e.g. ``'railed, lead off'`` (``'ok'`` for 0)."""
    names = [f.name.lower().replace("_", " ") for f in QualityFlag if f and (int(flags) & int(f))]
    return ", ".join(names) if names else "ok"
