"""The boards' decimation filters, so that aliasing is as on the real board.

The ADS1299 (Cyton) digitises with a delta-sigma modulator and a sinc^3 decimation filter:
the output at 250 SPS is the modulator stream averaged three times over 1/250 s, so
|H(f)| = |sinc(f / 250 Hz)|^3 (-3 dB near 65 Hz, about -7 dB at 100 Hz, -26 dB at 175 Hz) and
nothing removes what lies above 125 Hz: it folds back, attenuated only by that response.

:class:`SincDecimator` reproduces this from a signal generated at ``M`` times the output rate
(``M`` = 16 by default: 4 kHz for the Cyton) with three cascaded length-``M`` boxcars and keeps
every ``M``-th sample. The Ganglion's MCP3912 also uses a sinc^3 stage; the Cyton+Daisy's 125 Hz
is the ADS1299's 250 SPS output taken every other sample (no further filtering), as the firmware does.
It streams: any chunking of the input gives the same output as one call.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def sinc_kernel(m: int, order: int = 3) -> np.ndarray:
    """FIR taps of ``order`` cascaded length-``m`` moving averages (unit DC gain), length order*(m-1)+1."""
    h = np.ones(1)
    box = np.ones(m) / m
    for _ in range(order):
        h = np.convolve(h, box)
    return h


class SincDecimator:
    """Streaming sinc^order filter + keep every ``factor``-th sample, channels x samples.

    ``boxcar`` is the boxcar length in input samples (the ADC's own decimation ratio);
    ``factor`` (a multiple of ``boxcar``) is the overall decimation (2 x boxcar for the Daisy's 125 Hz).
    Delay: (order * (boxcar - 1)) / 2 input samples, i.e. about 1.5 ADC output samples.
    """

    def __init__(self, n_channels: int, boxcar: int, *, order: int = 3, factor: int | None = None) -> None:
        self.boxcar = int(boxcar)
        self.factor = int(factor or boxcar)
        if self.factor % self.boxcar:
            raise ValueError("factor must be a multiple of boxcar")
        self.h = sinc_kernel(self.boxcar, order)
        self._hist = np.zeros((n_channels, len(self.h) - 1))
        self._phase = 0  # input samples since the last kept output, modulo factor

    @property
    def delay_in_samples(self) -> float:
        return (len(self.h) - 1) / 2.0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter (C, n) input samples; returns the (C, k) outputs completed in this chunk."""
        x = np.asarray(x, dtype=np.float64)
        nh = len(self.h) - 1
        xx = np.concatenate([self._hist, x], axis=1)
        n = x.shape[1]
        # an output is produced after each `factor`-th input sample
        first = self.factor - 1 - self._phase
        pos = np.arange(first, n, self.factor)  # index in x of the last input of each output
        self._phase = (self._phase + n) % self.factor
        self._hist = xx[:, xx.shape[1] - nh :].copy() if nh else self._hist
        if len(pos) == 0:
            return np.zeros((x.shape[0], 0))
        win = sliding_window_view(xx, nh + 1, axis=1)  # win[:, j] = xx[:, j:j+nh+1]
        # output at x-index p uses xx[p : p + nh + 1] (xx is shifted by nh)
        return win[:, pos, :] @ self.h[::-1]
