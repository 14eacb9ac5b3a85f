"""Stochastic sEMG of unit variance with a time-varying spectrum, generated in a stream.

Overlap-add of spectrally shaped Gaussian blocks: each block of ``L`` samples is the inverse FFT
of complex Gaussian noise times the amplitude spectrum for that block's median frequency, tapered
by a sine window; blocks overlap by half, and since sin^2 + cos^2 = 1 the variance stays exactly 1
while the spectrum can change from one block (``L/2`` samples, about 64 ms) to the next (fatigue).

Each muscle has its own random generator and draws the same numbers whatever the chunk sizes
asked for, so a stream read in any chunking is identical to one long read.
"""

from __future__ import annotations

import numpy as np

from emg.simulation.spectrum import SpectrumTable


def block_length(fs_hz: float) -> int:
    """FFT block length: the power of two giving bins of at most about 4 Hz (>= 64)."""
    n = 64
    while fs_hz / n > 4.0:
        n *= 2
    return n


class ShapedNoise:
    """Unit-variance sEMG sources, one per muscle, ``fs_hz`` samples per second.

    ``median_hz``/``band_hz``: each muscle's fresh spectrum; ``min_fraction``: lowest median
    (fraction of fresh) that fatigue may reach; ``seeds``: one integer or SeedSequence per muscle.
    """

    def __init__(
        self,
        fs_hz: float,
        median_hz: list[float],
        band_hz: list[tuple[float, float]],
        seeds: list,
        *,
        min_fraction: float = 0.4,
    ) -> None:
        self.fs_hz = float(fs_hz)
        self.n_sources = len(median_hz)
        self.L = block_length(self.fs_hz)
        self.H = self.L // 2
        self.f_hz = np.fft.rfftfreq(self.L, 1.0 / self.fs_hz)
        self.window = np.sin(np.pi * (np.arange(self.L) + 0.5) / self.L)
        self.window32 = self.window.astype(np.float32)
        self.tables = [
            SpectrumTable(self.f_hz, m, b, min_fraction=min_fraction) for m, b in zip(median_hz, band_hz, strict=False)
        ]
        self.rngs = [np.random.default_rng(s) for s in seeds]
        self._ready = [np.zeros(0, dtype=np.float32) for _ in range(self.n_sources)]
        self._tail = []
        # prime: the first block's second half becomes the tail, so output starts stationary
        for i, tab in enumerate(self.tables):
            x = self._blocks(i, np.full(1, len(tab.medians) - 1))
            self._tail.append(x[0, self.H :].copy())

    def _blocks(self, i: int, idx: np.ndarray) -> np.ndarray:
        k = len(idx)
        nb = len(self.f_hz)
        z = self.rngs[i].standard_normal((k, 2 * nb), dtype=np.float32)
        spec = z[:, :nb] + 1j * z[:, nb:]  # complex64
        spec *= self.tables[i].amplitudes(idx)  # float32, sqrt(1/2) included
        return np.fft.irfft(spec, n=self.L, axis=1) * self.window32

    def read(self, n: int, median_hz: np.ndarray | None = None) -> np.ndarray:
        """The next ``n`` samples, (n_sources, n). ``median_hz`` (n_sources, n): the spectrum's
        median frequency at each sample (None: fresh muscles); each new block uses the value at its start."""
        out = np.empty((self.n_sources, n), dtype=np.float32)
        for i in range(self.n_sources):
            ready = self._ready[i]
            have = len(ready)
            need = n - have
            if need > 0:
                k = -(-need // self.H)
                tab = self.tables[i]
                if median_hz is None:
                    idx = np.full(k, len(tab.medians) - 1)
                else:
                    pos = np.clip(have + np.arange(k) * self.H, 0, n - 1)
                    idx = tab.index_for(median_hz[i, pos])
                x = self._blocks(i, idx)
                hops = x[:, : self.H].copy()
                hops[0] += self._tail[i]
                hops[1:] += x[:-1, self.H :]
                self._tail[i] = x[-1, self.H :].copy()
                ready = np.concatenate([ready, hops.ravel()])
            out[i] = ready[:n]
            self._ready[i] = ready[n:]
        return out
