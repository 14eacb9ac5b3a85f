"""The streaming pipeline fed by BrainFlow's real synthetic board (250 Hz, 16 EXG rows)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from brainflow.board_shim import BoardIds, BoardShim, BrainFlowInputParams

from dsp.pipeline import EmgPipeline, emg_clean
from dsp.quality import QualityFlag, QualityMonitor


@pytest.fixture(scope="module")
def synthetic_chunks():
    BoardShim.disable_board_logger()
    board_id = BoardIds.SYNTHETIC_BOARD.value
    board = BoardShim(board_id, BrainFlowInputParams())
    rows = BoardShim.get_exg_channels(board_id)[:16]
    fs = BoardShim.get_sampling_rate(board_id)
    board.prepare_session()
    chunks = []
    try:
        board.start_stream()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            time.sleep(0.05)
            data = board.get_board_data()
            if data.shape[1]:
                chunks.append(np.ascontiguousarray(data[rows]))
        board.stop_stream()
    finally:
        board.release_session()
    return fs, chunks


def test_synthetic_board_stream_equals_batch_and_notches_mains(synthetic_chunks):
    fs, chunks = synthetic_chunks
    assert fs == 250
    x = np.concatenate(chunks, axis=1)
    assert x.shape[0] == 16 and x.shape[1] > 500
    pipe = EmgPipeline(fs, 16, mains_hz=50)
    streamed = np.concatenate([pipe.process_both(c)[0] for c in chunks], axis=1)
    batch = emg_clean(x, fs, mains_hz=50)
    assert np.array_equal(streamed, batch)
    from scipy import signal

    def line_power(sig, f0):
        f, p = signal.welch(sig - sig.mean(), fs, nperseg=256)
        return p[(f > f0 - 2.5) & (f < f0 + 2.5)].sum()

    settled = slice(int(1.0 * fs), None)
    # channel 10 carries a 50 Hz line (with amplitude noise): the mains notch takes the line down > 20 dB
    assert line_power(batch[9, settled], 50.0) < 0.01 * line_power(x[9, settled], 50.0)
    # channel 12's 60 Hz line is in band and not a 50 Hz harmonic: it passes within 1 dB
    assert line_power(batch[11, settled], 60.0) == pytest.approx(line_power(x[11, settled], 60.0), rel=0.25)
    # channels 1-3 are 5, 10, 15 Hz lines below the 20 Hz band edge (4th-order high-pass skirt:
    # about -48, -24 and -10 dB)
    for c, f0, ratio in ((0, 5.0, 1e-3), (1, 10.0, 0.01), (2, 15.0, 0.15)):
        assert line_power(batch[c, settled], f0) < ratio * line_power(x[c, settled], f0)


def test_quality_monitor_on_the_synthetic_board_flags_nothing_structural(synthetic_chunks):
    fs, chunks = synthetic_chunks
    mon = QualityMonitor(fs, 16)
    flags = np.concatenate([mon.update(c) for c in chunks], axis=1)
    structural = QualityFlag.RAILED | QualityFlag.FLAT | QualityFlag.NAN | QualityFlag.LEAD_OFF
    assert not np.any(flags & structural)
