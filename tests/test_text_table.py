"""The Numba table parser must equal np.loadtxt bit for bit, or hand over to it."""

import io

import numpy as np
import pytest

from emg.recordings.text_table import parse_table


def _text(x: np.ndarray, fmt: str = "%.6f") -> bytes:
    buf = io.StringIO()
    np.savetxt(buf, x, fmt=fmt, delimiter="\t")
    return buf.getvalue().encode()


@pytest.mark.parametrize("fmt", ["%.6f", "%.3f", "%.10g", "%.0f"])
def test_bit_identical_to_loadtxt(fmt):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3000, 12)) * 10.0 ** rng.integers(-3, 5, size=(3000, 12))
    x[:, 10] = 1732623456.123456 + np.arange(3000) / 250.0  # unix timestamps: 16 significant digits
    x[3, 2], x[4, 3], x[5, 4], x[6, 5] = np.nan, np.inf, -np.inf, -0.0
    raw = _text(x, fmt)
    expected = np.loadtxt(io.BytesIO(raw), delimiter="\t", ndmin=2)
    got = parse_table(raw, 12)
    assert got is not None
    assert got.shape == expected.shape
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))


@pytest.mark.parametrize(
    "text",
    [
        b"12345678901234567\t1\n",  # beyond 2**53: not exact on the fast path
        b"abc\t1\n",  # not a number
        b"1\t2\t3\n",  # too many columns
        b"1\t\n",  # empty field
        b"1,2\n",  # wrong separator
    ],
)
def test_leaves_fast_path_instead_of_guessing(text):
    assert parse_table(text, 2) is None


def test_exponents_and_missing_final_newline():
    got = parse_table(b"1e5\t-2.5E-3\n7\t8", 2)
    assert got.tolist() == [[1e5, -2.5e-3], [7.0, 8.0]]
