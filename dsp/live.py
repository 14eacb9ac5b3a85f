"""The live chain: raw chunks in, what the patient sees out (activation % of reference and quality flags).

One object holds the whole per-sample path of a live session: band-pass + mains notches + envelope
(:class:`dsp.pipeline.EmgPipeline`), % of the calibration's reference, and the per-sample quality flags
(:class:`dsp.quality.QualityMonitor`). The live session, the offline replay of a drill recording and
``emg bench`` all run this object, so the benchmarked path is the live path and a replay sees exactly
what the patient saw (same numbers for any chunking).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dsp import _kernels as K
from dsp.calibration import Calibration
from dsp.design import FilterDesign
from dsp.pipeline import EmgPipeline
from dsp.quality.flags import QualityFlag, QualityMonitor

_DROPPED = np.uint8(QualityFlag.DROPPED)
_U8 = np.dtype(np.uint8)
_NO_GAPS: tuple[int, ...] = ()


@dataclass
class LiveStep:
    """What one chunk became. Arrays are channels x samples.

    ``envelope_uv``: the envelope in uV while no calibration is set (None once one is);
    ``activation_pct``: activation in % of the reference once a calibration is set (None before);
    ``flags``: :class:`~dsp.quality.QualityFlag` bits per sample, uint8.
    """

    envelope_uv: np.ndarray | None
    activation_pct: np.ndarray | None
    flags: np.ndarray


class LiveChain:
    """Streaming raw uV (C, n) -> envelope or % of reference, plus quality flags, state kept between calls.

    ``rail_uv``: the board's ADC limit in uV at its gain (None: no rail check). ``calibration``: set with
    :meth:`set_calibration` once known; from then on :meth:`process` returns % of reference.
    """

    def __init__(
        self,
        fs_hz: float,
        n_channels: int,
        *,
        mains_hz: float | None = 50,
        near_heart: bool = False,
        envelope: str = "adaptive",
        rail_uv: float | None = None,
    ) -> None:
        self.pipeline = EmgPipeline(fs_hz, n_channels, mains_hz=mains_hz, near_heart=near_heart, envelope=envelope)
        self.monitor = QualityMonitor(fs_hz, n_channels, rail_uv)
        self.calibration: Calibration | None = None
        chain = self.pipeline.chain
        # the monitor's parameters and state move into the chain's buffer: one kernel argument for both
        self.monitor.state = chain.attach(self.monitor.state)
        self._chain = chain
        self._pct = 0
        self._step = functools.partial(K.run_live, chain.buf, chain.ist, self._pct)

    @property
    def fs_hz(self) -> float:
        return self.pipeline.fs_hz

    @property
    def n_channels(self) -> int:
        return self.pipeline.n_channels

    @property
    def envelope(self) -> str:
        """The envelope method (``"adaptive"``, ``"linear"``, ...)."""
        return self.pipeline.envelope

    @property
    def design(self) -> FilterDesign:
        return self.pipeline.design

    @property
    def rail_uv(self) -> float | None:
        """The ADC limit (uV) the RAILED flag checks against (None: no rail check)."""
        return self.monitor.rail_uv

    def set_calibration(self, calibration: Calibration | None) -> None:
        """From now on :meth:`process` returns % of ``calibration``'s reference (None: back to the envelope)."""
        self.pipeline.set_calibration(calibration)
        self.calibration = calibration
        self._pct = 0 if calibration is None else 1
        self._step = functools.partial(K.run_live, self._chain.buf, self._chain.ist, self._pct)

    def reset(self) -> None:
        """Forget all filter, envelope and quality history (keeps the calibration)."""
        self.pipeline.reset()
        self.monitor.reset()

    def process(self, chunk_uv: np.ndarray, *, gaps_at: Sequence[int] = _NO_GAPS) -> LiveStep:
        """The next raw chunk (C, n) in uV; ``gaps_at``: sample offsets in the chunk that follow lost packets
        (flagged DROPPED; the caller finds them from its board's package counter). Filters, envelope, % of reference and
        flags run in one kernel call; the returned arrays are new each call (callers may keep them)."""
        try:  # fast path: a C-contiguous float64 (C, n) array of the right channel count
            shape = chunk_uv.shape
            out = np.empty(shape)
            flags = np.empty(shape, _U8)
            if self._step(chunk_uv, out, flags):
                raise ValueError
        except (TypeError, ValueError, AttributeError):  # checks, conversion, one-line errors
            out, flags = self._chain.live_fast(chunk_uv, self._pct)
        if gaps_at is not _NO_GAPS:
            for k in gaps_at:
                if 0 <= k < flags.shape[1]:
                    flags[:, k] |= _DROPPED
        if self._pct:
            return LiveStep(None, out, flags)
        return LiveStep(out, None, flags)
