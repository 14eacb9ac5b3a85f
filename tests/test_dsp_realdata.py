"""The signal core on real public recordings (../shared/realdata; skipped where absent)."""

from __future__ import annotations

import numpy as np

from dsp.detection import detect_activations
from dsp.pipeline import EmgPipeline, emg_process


def _biosppy(realdata, folder, name):
    return np.loadtxt(realdata / folder / name, comments="#")[None, :]


def test_detection_finds_the_bursts_listed_in_the_provenance(realdata):
    x = _biosppy(realdata, "biosppy_emg1", "emg_1.txt")  # 12-bit counts, 1 kHz
    acts = detect_activations(x, 1000.0)[0]
    listed = [(1.44, 1.87), (15.47, 17.03), (25.61, 25.87), (26.38, 26.67), (38.48, 39.09)]
    for on, off in listed:
        assert any(a.onset_s < off and a.offset_s > on for a in acts), (on, off)
    for strong in (1.44, 15.47, 26.38):
        assert min(abs(a.onset_s - strong) for a in acts) < 0.06
    assert len(acts) <= 12


def test_low_snr_recording_gives_few_detections(realdata):
    x = _biosppy(realdata, "biosppy_emg_lowsnr", "emg.txt")
    acts = detect_activations(x, 1000.0)[0]
    assert len(acts) <= 3
    # the one burst the provenance lists (56.28-56.75 s) lies inside a detection
    assert any(a.onset_s < 56.75 and a.offset_s > 56.28 for a in acts)


def test_streaming_real_recording_equals_batch(realdata):
    x = _biosppy(realdata, "biosppy_emg1", "emg_1.txt")[:, :20000]
    _, env = emg_process(x, 1000.0)
    pipe = EmgPipeline(1000.0, 1)
    parts = [pipe.process(x[:, i : i + 32]) for i in range(0, x.shape[1], 32)]
    assert np.array_equal(np.concatenate(parts, axis=1), env)
    assert np.all(np.isfinite(env))
