"""The live EMG chain: band-pass + mains notches + envelope (+ % of reference), streaming and batch.

``EmgPipeline.process`` (causal, state kept) and the batch helpers ``emg_clean`` / ``emg_process``
(causal) run the same Numba kernel, so live and offline numbers are identical for any chunking.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

from dsp._chain import Chain, as_signal, hold_bad_samples
from dsp.design import FilterDesign, design_filters
from dsp.envelope import EnvelopeParams, check_method, default_params, emg_amplitude, envelope_stage
from dsp.errors import SignalError

log = logging.getLogger(__name__)


class EmgPipeline:
    """Streaming chain for ``n_channels`` sampled at ``fs_hz``.

    ``process(chunk_uv (C, n)) -> envelope_uv (C, n)``; ``process_both`` also returns the filtered signal;
    ``process_pct`` returns activation in % of the calibration's reference (see :meth:`set_calibration`).
    Non-finite input samples are held at the last finite value and counted in ``nonfinite_count``.
    """

    def __init__(
        self,
        fs_hz: float,
        n_channels: int,
        *,
        mains_hz: float | None = 50,
        band_hz: tuple[float, float] | None = None,
        near_heart: bool = False,
        envelope: str = "adaptive",
        order: int = 4,
        envelope_params: EnvelopeParams | None = None,
    ) -> None:
        self.fs_hz = float(fs_hz)
        self.n_channels = int(n_channels)
        if self.n_channels < 1:
            raise SignalError(f"channel count {n_channels} is not positive; pass at least 1 channel")
        self.envelope = check_method(envelope)
        self.design: FilterDesign = design_filters(
            self.fs_hz, band_hz=band_hz, mains_hz=mains_hz, near_heart=near_heart, order=order
        )
        self.envelope_params = envelope_params or default_params(self.fs_hz)
        self._chain = Chain(
            self.n_channels,
            self.design.sos,
            self.design.zi_unit,
            init_steady=True,
            **envelope_stage(self.envelope, self.fs_hz, self.envelope_params),
        )
        self._calibrated = False
        log.debug(
            "EmgPipeline %d ch at %g Hz: %s, %s envelope",
            self.n_channels,
            self.fs_hz,
            self.design.describe(),
            self.envelope,
        )

    def process(self, chunk_uv) -> np.ndarray:
        """Envelope (C, n) in uV of the next raw chunk (C, n) in uV."""
        return self._chain.envelope_fast(chunk_uv)

    def process_both(self, chunk_uv) -> tuple[np.ndarray, np.ndarray]:
        """(filtered (C, n), envelope (C, n)) of the next raw chunk, both in uV."""
        x = as_signal(chunk_uv, self.n_channels, name="chunk")
        return self._chain.run(x, want_filtered=True, want_envelope=True)

    def set_calibration(self, calibration) -> None:
        """Use ``calibration`` (:class:`dsp.calibration.Calibration`) in :meth:`process_pct`; ``None`` clears it."""
        if calibration is None:
            self._calibrated = False
            self._chain.set_percent(None, None)
            return
        floor = np.asarray(calibration.rest_floor_uv, dtype=np.float64)
        ref = np.asarray(calibration.reference_uv, dtype=np.float64)
        cal_env = getattr(calibration, "envelope", self.envelope)
        if cal_env != self.envelope:
            raise SignalError(
                f"calibration was measured with the {cal_env} envelope but this pipeline uses {self.envelope}; "
                f"levels differ between envelopes, so recalibrate or build the pipeline with envelope={cal_env!r}"
            )
        cal_fs = float(getattr(calibration, "fs_hz", self.fs_hz))
        if abs(cal_fs - self.fs_hz) > 1e-6:
            raise SignalError(
                f"calibration was measured at {cal_fs:g} Hz but this pipeline runs at {self.fs_hz:g} Hz; "
                f"recalibrate at this sampling rate"
            )
        if floor.shape != (self.n_channels,) or ref.shape != (self.n_channels,):
            raise SignalError(
                f"calibration has {floor.shape[0]} channels but the pipeline has {self.n_channels}; "
                f"calibrate again with this montage"
            )
        self._chain.set_percent(floor, 100.0 / (ref - floor))
        self._calibrated = True

    def process_pct(self, chunk_uv) -> np.ndarray:
        """Activation (C, n) in % of the reference contraction, rest floor removed (same kernel call)."""
        if not self._calibrated:
            raise SignalError("no calibration set on this pipeline; run a calibration and call set_calibration()")
        return self._chain.percent_fast(chunk_uv)

    def reset(self) -> None:
        """Forget all filter and envelope history (next sample re-initialises)."""
        self._chain.reset()

    @property
    def chain(self) -> Chain:
        """The streaming state and kernel calls behind this pipeline (for :class:`dsp.live.LiveChain`)."""
        return self._chain

    @property
    def nonfinite_count(self) -> np.ndarray:
        """Non-finite input samples replaced so far, per channel (C,)."""
        return self._chain.nonfinite_count


@functools.lru_cache(maxsize=32)
def _envelope_stage_cached(method: str, fs_hz: float, params) -> dict:
    return envelope_stage(method, fs_hz, params)


def _envelope_stage(method: str, fs_hz: float, params: EnvelopeParams | None) -> dict:
    """:func:`envelope_stage`, memoised (its filter design costs a few hundred us per batch call); every
    caller gets its own copies of the arrays."""
    try:
        stage = _envelope_stage_cached(method, float(fs_hz), params)
    except TypeError:  # unhashable params
        return envelope_stage(method, fs_hz, params)
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in stage.items()}


def emg_clean(
    x_uv,
    fs_hz: float,
    *,
    mains_hz: float | None = 50,
    band_hz=None,
    near_heart: bool = False,
    order: int = 4,
    zero_phase: bool = False,
) -> np.ndarray:
    """Band-passed, notched signal (C, n) in uV; causal (== streaming) or ``zero_phase`` (offline)."""
    x = as_signal(x_uv)
    design = design_filters(fs_hz, band_hz=band_hz, mains_hz=mains_hz, near_heart=near_heart, order=order)
    if zero_phase:
        from dsp.filters import sosfiltfilt

        return sosfiltfilt(hold_bad_samples(x), design.sos)
    chain = Chain(x.shape[0], design.sos, design.zi_unit, init_steady=True)
    return chain.run(x, want_filtered=True, want_envelope=False, parallel=True)[0]


def emg_process(
    x_uv,
    fs_hz: float,
    *,
    mains_hz: float | None = 50,
    band_hz=None,
    near_heart: bool = False,
    envelope: str = "adaptive",
    order: int = 4,
    zero_phase: bool = False,
    envelope_params: EnvelopeParams | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(filtered (C, n), envelope (C, n)) in uV for a whole recording.

    Causal (default): the same numbers as :class:`EmgPipeline` fed in any chunking.
    ``zero_phase=True``: forward-backward filters and a zero-phase envelope (offline best estimate).
    """
    x = as_signal(x_uv)
    check_method(envelope)
    if zero_phase:
        filtered = emg_clean(
            x, fs_hz, mains_hz=mains_hz, band_hz=band_hz, near_heart=near_heart, order=order, zero_phase=True
        )
        return filtered, emg_amplitude(filtered, fs_hz, method=envelope, zero_phase=True, params=envelope_params)
    design = design_filters(fs_hz, band_hz=band_hz, mains_hz=mains_hz, near_heart=near_heart, order=order)
    chain = Chain(
        x.shape[0],
        design.sos,
        design.zi_unit,
        init_steady=True,
        **_envelope_stage(envelope, float(fs_hz), envelope_params),
    )
    filtered, env = chain.run(x, want_filtered=True, want_envelope=True, parallel=True)
    return filtered, env
