"""emg.acquire.packets.package_gaps, the one lost-packet detector (acquisition, analysis, replay)."""

from __future__ import annotations

import numpy as np
import pytest

from emg.acquire.packets import PackageGaps, package_gaps
from emg.errors import ConfigError


def test_package_gaps_finds_the_samples_after_lost_packets():
    pkg = np.array([250, 251, 252, 253, 255, 0, 1, 5, 6], dtype=float)  # 254 lost; 2, 3, 4 lost across the wrap
    g = package_gaps(pkg, modulo=256)
    assert isinstance(g, PackageGaps)
    assert g.at.tolist() == [4, 7] and g.lost.tolist() == [1, 3] and g.total == 4
    assert g.step == 1 and g.last == 6.0
    assert package_gaps(np.arange(10.0), modulo=256).total == 0


def test_package_gaps_in_chunks_equals_one_pass():
    rng = np.random.default_rng(7)
    counter = np.arange(5000) * 2 % 201  # a board that counts by 2 and wraps at 200 (modulo 201)
    keep = np.sort(rng.choice(5000, 4700, replace=False))
    pkg = counter[keep].astype(float)
    whole = package_gaps(pkg, modulo=201)
    assert whole.step == 2 and whole.total > 0
    at, lost, prev, step, i = [], [], None, None, 0
    while i < pkg.size:
        m = 10 if i == 0 else int(rng.integers(1, 40))  # the first chunk is long enough to learn the step
        g = package_gaps(pkg[i : i + m], modulo=201, previous=prev, step=step)
        assert g.step == 2
        at += (g.at + i).tolist()
        lost += g.lost.tolist()
        prev, step, i = g.last, g.step, i + m
    assert at == whole.at.tolist() and lost == whole.lost.tolist()
    assert whole.at.tolist() == (np.flatnonzero(np.diff(keep) > 1) + 1).tolist()
    assert whole.lost.tolist() == (np.diff(keep)[np.diff(keep) > 1] - 1).tolist()


def test_package_gaps_needs_four_steps_to_infer_the_increment_and_checks_its_arguments():
    g = package_gaps([0, 1, 5], modulo=256)
    assert g.step is None and g.total == 0 and g.last == 5.0
    g = package_gaps([9, 10], modulo=256, previous=8.0, step=1)
    assert g.total == 0 and g.at.size == 0
    g = package_gaps([12], modulo=256, previous=10.0, step=1)
    assert g.at.tolist() == [0] and g.lost.tolist() == [1]
    g = package_gaps([], modulo=256, previous=3.0, step=1)
    assert g.at.size == 0 and g.last == 3.0 and g.step == 1
    g = package_gaps([1, 2, np.nan, 4, 5, 6, 9], modulo=256)
    assert g.at.tolist() == [6] and g.lost.tolist() == [2]
    with pytest.raises(ConfigError, match="modulo"):
        package_gaps([1, 2], modulo=1)
    with pytest.raises(ConfigError, match="step"):
        package_gaps([1, 2], modulo=256, step=0)
