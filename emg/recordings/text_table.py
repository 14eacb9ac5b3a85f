"""Fast, exact parsing of numeric text tables (BrainFlow files: tab-separated decimals, no header).

``np.loadtxt`` parses about 60 MB/s; an hour of 16-channel data is a few hundred MB. This parser
walks the bytes once in Numba and converts each field with Clinger's fast path: a decimal whose
digits form an integer below 2**53 and a power-of-ten scale up to 1e22 is an exact integer divided
or multiplied by an exact power of ten, and IEEE division/multiplication rounds that correctly, so the
result is bit-identical to ``strtod`` (and to ``np.loadtxt``). Any field outside the fast path (more
digits, exotic spellings) makes :func:`parse_table` report failure and the caller falls back to
``np.loadtxt``, so the answer is always exact.
"""

from __future__ import annotations

import numpy as np
from numba import njit

import dsp  # noqa: F401 - sets a writable NUMBA_CACHE_DIR before numba is imported

_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)


@njit(cache=True, nogil=True)
def _parse(buf: np.ndarray, n_cols: int, sep: int, out: np.ndarray, pow10: np.ndarray) -> int:
    """Fill ``out`` (n_lines, n_cols); return lines parsed, or -1 - line where the fast path failed."""
    n = buf.shape[0]
    pos = 0
    line = 0
    n_lines = out.shape[0]
    while pos < n and line < n_lines:
        for col in range(n_cols):
            # skip spaces
            while pos < n and buf[pos] == 32:
                pos += 1
            neg = False
            if pos < n and (buf[pos] == 45 or buf[pos] == 43):
                neg = buf[pos] == 45
                pos += 1
            # nan / inf spelled as BrainFlow (printf) writes them
            if pos < n and (buf[pos] == 110 or buf[pos] == 78):  # n / N
                if (
                    pos + 2 < n
                    and (buf[pos + 1] == 97 or buf[pos + 1] == 65)
                    and (buf[pos + 2] == 110 or buf[pos + 2] == 78)
                ):
                    out[line, col] = np.nan
                    pos += 3
                else:
                    return -1 - line
            elif pos < n and (buf[pos] == 105 or buf[pos] == 73):  # i / I
                if (
                    pos + 2 < n
                    and (buf[pos + 1] == 110 or buf[pos + 1] == 78)
                    and (buf[pos + 2] == 102 or buf[pos + 2] == 70)
                ):
                    out[line, col] = -np.inf if neg else np.inf
                    pos += 3
                    if pos + 4 < n and (buf[pos] == 105 or buf[pos] == 73):  # "inity"
                        pos += 5
                else:
                    return -1 - line
            else:
                mant = 0
                digits = 0
                frac = 0
                seen = False
                while pos < n and 48 <= buf[pos] <= 57:
                    if mant > 0 or buf[pos] != 48:
                        digits += 1
                    mant = mant * 10 + (buf[pos] - 48)
                    pos += 1
                    seen = True
                    if digits > 17:
                        return -1 - line
                if pos < n and buf[pos] == 46:
                    pos += 1
                    while pos < n and 48 <= buf[pos] <= 57:
                        if mant > 0 or buf[pos] != 48:
                            digits += 1
                        mant = mant * 10 + (buf[pos] - 48)
                        frac += 1
                        pos += 1
                        seen = True
                        if digits > 17:
                            return -1 - line
                if not seen or mant >= 9007199254740992:  # 2**53: beyond it the integer is not exact
                    return -1 - line
                exp = 0
                if pos < n and (buf[pos] == 101 or buf[pos] == 69):  # e / E
                    pos += 1
                    eneg = False
                    if pos < n and (buf[pos] == 45 or buf[pos] == 43):
                        eneg = buf[pos] == 45
                        pos += 1
                    edig = 0
                    while pos < n and 48 <= buf[pos] <= 57:
                        exp = exp * 10 + (buf[pos] - 48)
                        pos += 1
                        edig += 1
                        if edig > 3:
                            return -1 - line
                    if edig == 0:
                        return -1 - line
                    if eneg:
                        exp = -exp
                scale = exp - frac
                value = float(mant)
                if scale < 0:
                    if -scale > 22:
                        return -1 - line
                    value = value / pow10[-scale]
                elif scale > 0:
                    if scale > 22:
                        return -1 - line
                    value = value * pow10[scale]  # one correctly rounded product of two exact numbers
                out[line, col] = -value if neg else value
            # trailing spaces, then separator or end of line
            while pos < n and buf[pos] == 32:
                pos += 1
            if col < n_cols - 1:
                if pos >= n or buf[pos] != sep:
                    return -1 - line
                pos += 1
            else:
                if pos < n and buf[pos] == 13:
                    pos += 1
                if pos < n and buf[pos] != 10:
                    return -1 - line
                pos += 1
        line += 1
    return line


def parse_table(raw: bytes, n_cols: int, sep: str = "\t") -> np.ndarray | None:
    """Parse complete lines of ``n_cols`` separated decimals into (lines, n_cols) float64.

    Returns ``None`` where the text leaves the exact fast path (the caller then uses ``np.loadtxt``).
    """
    n_lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    out = np.empty((n_lines, n_cols), dtype=np.float64)
    buf = np.frombuffer(raw, dtype=np.uint8)
    got = _parse(buf, n_cols, ord(sep), out, _POW10)
    if got != n_lines:
        return None
    return out
