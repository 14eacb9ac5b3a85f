"""State holder around the Numba kernels: one object per streaming chain (private).

A chain is: hold non-finite samples -> SOS cascade (optional) -> envelope (optional) -> optional
% of reference (and, for the live chain, quality flags). Tiles, coefficients ``co``, state ``st`` (and an
attached quality monitor's state) live in one flat buffer ``buf`` and the integer header in ``ist`` (see
:mod:`dsp._kernels`), so a streaming call passes few arguments.
Batch calls split the 8-channel blocks over threads (the kernel runs without the GIL); every block
does the same arithmetic either way, so threaded, serial and streamed outputs are identical.
Public classes in :mod:`dsp.filters`, :mod:`dsp.envelope` and :mod:`dsp.pipeline` wrap it.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from dsp import _kernels as K
from dsp.errors import SignalError

_EMPTY2 = np.empty((0, 0))
_U8 = np.dtype(np.uint8)
_NO_FLAGS = np.empty((0, 0), dtype=np.uint8)  # run_live: no quality flags wanted
#: below this many samples a batch call stays in one thread (thread hand-off costs ~50 us)
PARALLEL_MIN_SAMPLES = 4096

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads() -> int:
    env = os.environ.get("NUMBA_NUM_THREADS")
    try:
        return max(1, int(env)) if env else max(1, os.cpu_count() or 1)
    except ValueError:
        return max(1, os.cpu_count() or 1)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, _threads() - 1), thread_name_prefix="dsp-block")
        return _pool


def as_signal(x_uv, n_channels: int | None = None, *, name: str = "signal") -> np.ndarray:
    """``x_uv`` as a C-contiguous float64 (C, n) array; 1-D input is one channel.

    Raises :class:`SignalError` for other shapes, a wrong channel count, or non-numeric data.
    """
    try:
        arr = np.asarray(x_uv, dtype=np.float64)
    except (TypeError, ValueError):
        raise SignalError(
            f"{name} is not numeric; pass a float array of microvolts shaped channels x samples"
        ) from None
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise SignalError(f"{name} has {arr.ndim} dimensions; pass a 2-D array shaped channels x samples")
    if n_channels is not None and arr.shape[0] != n_channels:
        hint = " (it looks transposed: pass channels x samples)" if arr.ndim == 2 and arr.shape[1] == n_channels else ""
        raise SignalError(
            f"{name} has {arr.shape[0]} channels but this pipeline was built for {n_channels}{hint}; "
            f"pass a ({n_channels}, n) chunk or build a pipeline for {arr.shape[0]} channels"
        )
    if not (arr.flags.c_contiguous and arr.flags.writeable):
        arr = np.array(arr, dtype=np.float64, order="C", copy=True)  # read-only views cannot enter the kernels
    return arr


def hold_bad_samples(x: np.ndarray) -> np.ndarray:
    """``x`` (C, n) with NaN/inf/absurd samples replaced by the channel's last good value (leading ones by 0),
    exactly as the streaming kernels do; ``x`` itself when all samples are good."""
    if np.all(np.abs(x) < K.MAX_ABS_UV):
        return x
    return Chain(x.shape[0], np.empty((0, 6)), None, init_steady=False).run(x, want_filtered=True, want_envelope=False)[
        0
    ]


class Chain:
    """Streaming state for ``n_channels`` through ``sos`` (may have 0 sections) and an envelope stage.

    ``env_code`` is one of the ``ENV_*`` codes of :mod:`dsp._kernels`; ``esos`` the envelope
    low-pass; ``rms_window`` samples for moving RMS; ``par`` adaptive parameters.
    """

    def __init__(
        self,
        n_channels: int,
        sos: np.ndarray,
        zi_unit: np.ndarray | None,
        *,
        init_steady: bool = True,
        env_code: int = K.ENV_NONE,
        esos: np.ndarray | None = None,
        rms_window: int = 1,
        par: np.ndarray | None = None,
    ) -> None:
        if int(n_channels) < 1:
            raise SignalError(f"channel count {n_channels} is not positive; pass at least 1 channel")
        self.n_channels = int(n_channels)
        sos = np.ascontiguousarray(sos, dtype=np.float64).reshape(-1, 6)
        n_sec = sos.shape[0]
        zi_unit = np.zeros((n_sec, 2)) if zi_unit is None else np.asarray(zi_unit, dtype=np.float64).reshape(n_sec, 2)
        esos = np.ascontiguousarray(esos if esos is not None else np.empty((0, 6)), dtype=np.float64).reshape(-1, 6)
        par = np.zeros(K.NPAR) if par is None else np.asarray(par, dtype=np.float64).reshape(K.NPAR)
        rms_window = max(1, int(rms_window))
        cp = K.padded(self.n_channels)
        self.padded_channels = cp
        self.env_code = int(env_code)
        # coefficients
        parts = [sos.ravel(), zi_unit.ravel(), esos.ravel(), par]
        offs = np.cumsum([0] + [p.size for p in parts])
        co = np.concatenate(parts)
        ist = np.zeros(K.N_IST, dtype=np.int64)
        ist[K.I_N_CH] = self.n_channels
        ist[K.I_CP] = cp
        ist[K.I_ENV] = self.env_code
        ist[K.I_INIT] = 1 if init_steady else 0
        ist[K.I_S] = n_sec
        ist[K.I_SE] = esos.shape[0]
        ist[K.I_W] = rms_window
        self._co_offsets = offs[:4].astype(np.int64)  # sos, zi, esos, par within ``co``
        # state
        sizes = [
            2 * n_sec * cp,
            2 * esos.shape[0] * cp,
            K.NAUX * cp,
            rms_window * cp,
            cp,
            cp,
            (cp // K.BLOCK) * K.WORK_PER_BLOCK,
        ]
        soffs = np.cumsum([0] + sizes)
        self._st_offsets = soffs[:7].astype(np.int64)  # zf, ze, aux, ring, floor, scale, work within ``st``
        self.ist = ist
        self.sos, self.zi_unit, self.esos, self.par = sos, zi_unit, esos, par
        self._place(co, np.zeros(int(soffs[-1])), np.zeros((cp // K.BLOCK) * K.TILE * K.BLOCK), np.empty(0))

    def _place(self, co: np.ndarray, st: np.ndarray, wk: np.ndarray, extra: np.ndarray) -> np.ndarray:
        """Lay the tiles ``wk``, coefficients ``co``, state ``st`` and ``extra`` (all flat) out in one buffer
        :attr:`buf`; ``self.co``, ``self.st``, ``self.wk`` and the named state arrays are views of it. The
        kernels get ``buf`` as both ``co`` and ``st`` (the ``I_O_*`` offsets in ``ist`` are positions in
        ``buf``), so :func:`dsp._kernels.run_live` takes the whole chain as one argument. Returns the view of
        ``extra``."""
        ist = self.ist
        parts = (wk, co, st, extra)
        offs = np.cumsum([0] + [p.size for p in parts])
        buf = np.empty(int(offs[-1]))
        for part, o in zip(parts, offs[:-1], strict=True):
            buf[o : o + part.size] = part
        ist[K.I_B_WK], ist[K.I_B_CO], ist[K.I_B_ST], ist[K.I_B_X] = offs[:4]
        ist[K.I_N_CO], ist[K.I_N_ST], ist[K.I_N_X] = co.size, st.size, extra.size
        ist[K.I_O_SOS], ist[K.I_O_ZI], ist[K.I_O_ESOS], ist[K.I_O_PAR] = self._co_offsets + offs[1]
        (
            ist[K.I_O_ZF],
            ist[K.I_O_ZE],
            ist[K.I_O_AUX],
            ist[K.I_O_RING],
            ist[K.I_O_FLOOR],
            ist[K.I_O_SCALE],
            ist[K.I_O_WORK],
        ) = self._st_offsets + offs[2]
        cp = self.padded_channels
        self.buf = buf
        self.wk = buf[offs[0] : offs[1]].reshape(cp // K.BLOCK, K.TILE, K.BLOCK)
        self.co = buf[offs[1] : offs[2]]
        self.st = st = buf[offs[2] : offs[3]]
        o = [int(v) for v in self._st_offsets]
        self.zf = st[o[0] : o[1]].reshape(-1, 2, cp)
        self.ze = st[o[1] : o[2]].reshape(-1, 2, cp)
        self.aux = st[o[2] : o[3]].reshape(K.NAUX, cp)
        self.ring = st[o[3] : o[4]].reshape(-1, cp)
        self.floor = st[o[4] : o[5]]
        self.scale = st[o[5] : o[6]]
        return buf[offs[3] : offs[4]]

    def attach(self, extra: np.ndarray) -> np.ndarray:
        """Move ``extra`` (flat float64, e.g. the quality monitor's state) into :attr:`buf`, after the chain's own
        arrays, so :func:`dsp._kernels.run_live` reaches it without another argument; returns its new home (a
        view: use it instead of ``extra`` from now on). The chain's state and history are kept."""
        return self._place(
            self.co.copy(),
            self.st.copy(),
            self.wk.ravel().copy(),
            np.ascontiguousarray(extra, dtype=np.float64).ravel(),
        )

    def reset(self) -> None:
        """Forget all history (the next sample re-initialises the filters); keeps any % calibration."""
        o_floor, o_work = int(self._st_offsets[4]), int(self._st_offsets[6])
        keep = self.st[o_floor:o_work].copy()
        self.st[:] = 0.0
        self.st[o_floor:o_work] = keep
        self.ist[K.I_POS] = 0
        self.ist[K.I_CNT] = 0

    def set_percent(self, floor_uv: np.ndarray | None, scale: np.ndarray | None) -> None:
        """Per-channel floor and scale for :meth:`percent_fast` (``(env - floor) * scale``); ``None`` clears."""
        self.floor[:] = 0.0
        self.scale[:] = 0.0
        if floor_uv is not None:
            self.floor[: self.n_channels] = floor_uv
            self.scale[: self.n_channels] = scale

    @property
    def nonfinite_count(self) -> np.ndarray:
        """Non-finite input samples replaced so far, per channel (C,) int."""
        return self.aux[K.AUX_NONFINITE, : self.n_channels].astype(np.int64)

    def run(self, x: np.ndarray, *, want_filtered: bool, want_envelope: bool, parallel: bool = False):
        """Push ``x`` (C, n) C-contiguous float64 through; return (filtered or None, envelope or None)."""
        out_f = np.empty_like(x) if want_filtered else _EMPTY2
        out_e = np.empty_like(x) if want_envelope and self.env_code >= 0 else _EMPTY2
        n_blocks = self.padded_channels // K.BLOCK
        n_threads = min(_threads(), n_blocks) if parallel and x.shape[1] >= PARALLEL_MIN_SAMPLES else 1
        if n_threads > 1:
            rc = self._run_threads(x, out_f, out_e, n_blocks, n_threads)
        else:
            rc = K.run_serial(x, out_f, out_e, self.buf, self.buf, self.ist, self.wk)
        if rc != 0:
            raise SignalError(
                f"chunk has {x.shape[0]} channels but this chain was built for {self.n_channels}; "
                f"pass ({self.n_channels}, n) chunks"
            )
        return (out_f if want_filtered else None), (out_e if want_envelope and self.env_code >= 0 else None)

    def _run_threads(self, x, out_f, out_e, n_blocks: int, n_threads: int) -> int:
        """Split the channel blocks into ``n_threads`` contiguous ranges run at once (the kernel drops the GIL)."""
        if x.shape[0] != self.n_channels:
            return -1
        edges = [round(i * n_blocks / n_threads) for i in range(n_threads + 1)]
        args = (x, out_f, out_e, self.buf, self.buf, self.ist, self.wk)
        futures = [_executor().submit(K.run_range, *args, edges[i], edges[i + 1]) for i in range(1, n_threads)]
        rc = K.run_range(*args, edges[0], edges[1])
        for fut in futures:
            rc = fut.result() or rc
        if rc == 0:
            K.finish(x, out_e, self.buf, self.ist)
        return rc

    def envelope_fast(self, x) -> np.ndarray:
        """Streaming fast path: envelope of ``x`` (C, n); falls back to checks and conversion on odd input."""
        return self._step(x, 0, False)[0]

    def percent_fast(self, x) -> np.ndarray:
        """Streaming fast path: activation in % of reference of ``x`` (C, n) (see :meth:`set_percent`)."""
        return self._step(x, 1, False)[0]

    def live_fast(self, x, pct: int) -> tuple[np.ndarray, np.ndarray]:
        """Streaming fast path of the live chain, one kernel call: (envelope, or % of reference when ``pct`` is 1,
        (C, n) float64; quality flags (C, n) uint8) of ``x`` (C, n). Needs the quality monitor's parameters and
        state attached (:meth:`attach`). Falls back to checks and conversion on odd input."""
        return self._step(x, pct, True)

    def _step(self, x, pct: int, want_flags: bool) -> tuple[np.ndarray, np.ndarray]:
        """One :func:`dsp._kernels.run_live` call on ``x`` (C, n); odd input is checked and converted first."""
        try:
            out = np.empty(x.shape)
            flags = np.empty(x.shape, _U8) if want_flags else _NO_FLAGS
            rc = K.run_live(self.buf, self.ist, pct, x, out, flags)
        except (TypeError, ValueError, AttributeError):
            x = as_signal(x, self.n_channels, name="chunk")
            out = np.empty(x.shape)
            flags = np.empty(x.shape, _U8) if want_flags else _NO_FLAGS
            rc = K.run_live(self.buf, self.ist, pct, x, out, flags)
        if rc != 0:
            as_signal(x, self.n_channels, name="chunk")  # raises the one-line channel-count error
            raise SignalError(
                f"no quality monitor for {self.n_channels} channels is attached to this chain; "
                f"attach the state of a QualityMonitor(fs_hz, {self.n_channels}, rail_uv)"
            )
        return out, flags
