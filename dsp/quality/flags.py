"""Signal-quality flags, streaming, per sample.

Flags are bits of :class:`QualityFlag` in a (C, n) uint8 array:
RAILED (at the ADC rail), FLAT (no change for ``flat_window_s``), NAN (non-finite), SPIKE (a jump larger
than ``spike_uv`` between samples: motion or cable artefact, held for ``spike_hold_s``), LEAD_OFF (railed or
flat for longer than ``lead_off_s``: electrode off or cable out), DROPPED (packets were lost just before
this sample: the offsets the caller gives, from its board's package counter).
The per-sample work is the Numba kernel :func:`dsp._kernels.quality_flags`, which the live chain
(:class:`dsp.live.LiveChain`) runs in the same call as its filters.
"""

from __future__ import annotations

import enum

import numpy as np

from dsp import _kernels as K
from dsp._chain import as_signal
from dsp.errors import SignalError

#: A sample at or beyond this fraction of the ADC rail counts as railed (live flags and the batch checks alike).
RAIL_MARGIN = 0.99


class QualityFlag(enum.IntFlag):
    OK = 0
    RAILED = K.F_RAILED
    FLAT = K.F_FLAT
    NAN = K.F_NAN
    SPIKE = K.F_SPIKE
    LEAD_OFF = K.F_LEAD_OFF
    DROPPED = K.F_DROPPED


class QualityMonitor:
    """Streaming per-sample quality flags: ``update(chunk_uv (C, n), dropped=0) -> flags (C, n) uint8``.

    ``rail_uv``: the board's ADC limit in uV at its gain (None: no rail check); samples at or beyond
    ``rail_margin * rail_uv`` are RAILED. Parameters and state live in one flat float64 array :attr:`state`
    (the ``Q_*``/``QS_*`` layout of :mod:`dsp._kernels`, updated in place); :class:`dsp.live.LiveChain` moves
    it into its chain's buffer (and rebinds :attr:`state` to it) so one kernel call runs chain and monitor.
    """

    def __init__(
        self,
        fs_hz: float,
        n_channels: int,
        rail_uv: float | None = None,
        *,
        rail_margin: float = RAIL_MARGIN,
        flat_window_s: float = 0.25,
        flat_step_uv: float = 1e-3,
        spike_uv: float = 2000.0,
        spike_hold_s: float = 0.1,
        lead_off_s: float = 1.0,
    ) -> None:
        if fs_hz <= 0 or (rail_uv is not None and rail_uv <= 0):
            raise SignalError("QualityMonitor needs a positive fs_hz and rail_uv; pass the board's rate and ADC rail")
        if int(n_channels) < 1:
            raise SignalError(f"channel count {n_channels} is not positive; pass at least 1 channel")
        self.fs_hz = float(fs_hz)
        self.n_channels = int(n_channels)
        self.rail_uv = None if rail_uv is None else float(rail_uv)
        q = np.zeros(K.NQPAR + K.NQS * self.n_channels)
        q[K.Q_RAIL] = np.inf if rail_uv is None else float(rail_uv) * rail_margin
        q[K.Q_FLAT_STEP] = float(flat_step_uv)
        q[K.Q_FLAT_N] = max(2, int(round(flat_window_s * fs_hz)))
        q[K.Q_SPIKE_UV] = float(spike_uv)
        q[K.Q_SPIKE_HOLD] = max(1, int(round(spike_hold_s * fs_hz)))
        q[K.Q_LEAD_N] = max(1, int(round(lead_off_s * fs_hz)))
        q[K.Q_N_CH] = self.n_channels
        #: parameters then per-channel state, float64 (flat; see :mod:`dsp._kernels`)
        self.state = q
        self.reset()

    def reset(self) -> None:
        """Forget the history (last sample, flat/bad runs, spike hold) of every channel."""
        c = self.n_channels
        self.state[K.NQPAR :] = 0.0
        self.state[K.NQPAR + K.QS_LAST * c : K.NQPAR + (K.QS_LAST + 1) * c] = np.nan

    def update(self, chunk_uv, dropped: int = 0) -> np.ndarray:
        """Flags (C, n) uint8 for the next raw chunk; ``dropped`` packets lost before it set DROPPED on sample 0."""
        try:
            flags = np.empty(chunk_uv.shape, dtype=np.uint8)
            rc = K.quality_flags(chunk_uv, flags, self.state)
        except (TypeError, ValueError, AttributeError):
            chunk_uv = as_signal(chunk_uv, self.n_channels, name="chunk")
            flags = np.empty(chunk_uv.shape, dtype=np.uint8)
            rc = K.quality_flags(chunk_uv, flags, self.state)
        if rc != 0:
            as_signal(chunk_uv, self.n_channels, name="chunk")  # raises the one-line channel-count error
            raise SignalError(
                f"chunk of shape {np.shape(chunk_uv)} does not fit this monitor of "
                f"{self.n_channels} channels; pass ({self.n_channels}, n) chunks"
            )
        if dropped and flags.shape[1]:
            flags[:, 0] |= np.uint8(QualityFlag.DROPPED)
        return flags


def describe_flags(flags: int) -> str:
    """Human words for a flag value, e.g. ``'railed, lead off'`` (``'ok'`` for 0)."""
    names = [f.name.lower().replace("_", " ") for f in QualityFlag if f and (int(flags) & int(f))]
    return ", ".join(names) if names else "ok"
