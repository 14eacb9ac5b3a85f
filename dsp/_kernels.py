"""Numba kernels shared by streaming and batch processing (private).

One kernel family does everything: non-finite samples held, filter state initialised at each
channel's first finite sample, a cascade of second-order sections (direct form II transposed, in
``scipy.signal.sosfilt``'s operation order and without fused multiply-add, so outputs are
bit-identical to scipy), then an envelope, then optionally % of a reference.

Layout: work is done on 8 channels at a time, in tiles of TILE samples x 8 channels (samples x
channels, so the compiler vectorises across channels); the channel count is padded to a multiple
of 8 inside the state. Coefficients are one flat float64 array ``co``, all state one flat float64
array ``st`` (filter state, envelope state, per-channel auxiliaries, RMS ring, % calibration and
small scratch), offsets/sizes/counters one int64 array ``ist``, and the sample tiles one array
``wk`` (blocks, TILE, 8); flat indexing keeps a streaming call to seven arguments and free of
array-view set-up. Because every stateful quantity
lives in ``st``/``ist`` and nothing depends on where a chunk starts, any chunking of the input
gives bit-identical output to one batch pass.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit

# The SOS cascade walks 8 channels per step; LLVM's SLP vectoriser (off by default in Numba) turns
# that into SIMD. Enable it only while this module's kernels compile (they compile eagerly below).
_SLP_BEFORE = numba.config.SLP_VECTORIZE
numba.config.SLP_VECTORIZE = 1

_RUN_SIG = ("int64(float64[:, ::1], float64[:, ::1], float64[:, ::1], float64[::1], float64[::1], int64[::1], "
            "float64[:, :, ::1])")
_RANGE_SIG = ("int64(float64[:, ::1], float64[:, ::1], float64[:, ::1], float64[::1], float64[::1], int64[::1], "
              "float64[:, :, ::1], int64, int64)")

#: inputs at or beyond this magnitude (1 kV, far past any amplifier's rail) are treated like NaN:
#: held at the last good value and counted, so one corrupt sample cannot overflow the filter state
MAX_ABS_UV = 1e9

# unsigned offsets 0..7: unsigned indices skip Numba's negative-index check, so LLVM can merge the
# eight per-channel state loads and stores into vector loads and stores
U0, U1, U2, U3, U4, U5, U6, U7 = (np.uint64(i) for i in range(8))

BLOCK = 8  # channels walked at once (the cascade below is written out for 8)
TILE = 128  # samples per tile

ENV_NONE = -1
ENV_LINEAR = 0
ENV_RMS = 1
ENV_TKEO = 2
ENV_ADAPTIVE = 3

# rows of the per-channel auxiliary state (NAUX, cp)
AUX_LAST = 0  # last finite input sample (uV)
AUX_STARTED = 1  # 1.0 once the channel has had a finite sample
AUX_Y1 = 2  # previous filtered sample (TKEO)
AUX_Y2 = 3  # filtered sample before that (TKEO)
AUX_ADAPT = 4  # adaptive envelope: first smoothing stage
AUX_RMS_SUM = 5  # running sum of squares (moving RMS)
AUX_NONFINITE = 6  # count of non-finite (or absurd, >= MAX_ABS_UV) input samples replaced
AUX_ADAPT2 = 7  # adaptive envelope: second smoothing stage (the output)
AUX_HOLD = 8  # adaptive envelope: held (slowly released) corner position 0..1
NAUX = 9

# adaptive-envelope parameters (NPAR floats in ``co``)
PAR_FMIN_ALPHA = 0  # smoothing coefficient at the slow corner
PAR_FMAX_ALPHA = 1  # smoothing coefficient at the fast corner
PAR_D0 = 2  # relative distance max(pre, out) / min(pre, out) - 1 below which the slow corner is used
PAR_D1 = 3  # ... and above which the fast corner is used
PAR_EPS = 4  # uV added to the smaller value before dividing
PAR_HOLD = 5  # per-sample decay factor of the held corner position (release time constant)
NPAR = 8

# integer header ``ist``
I_N_CH = 0  # real channel count
I_CP = 1  # padded channel count
I_ENV = 2  # envelope code (ENV_*)
I_INIT = 3  # 1: steady-state init at the first finite sample, 0: zero state
I_S = 4  # band/notch sections
I_SE = 5  # envelope low-pass sections
I_W = 6  # RMS window (samples)
I_POS = 7  # RMS ring position
I_CNT = 8  # samples processed so far
I_PCT = 9  # 1: envelope output in % of reference ((env - floor) * scale)
I_O_SOS = 10  # offsets into ``co``: sos (S, 6), zi_unit (S, 2), esos (Se, 6), par (NPAR,)
I_O_ZI = 11
I_O_ESOS = 12
I_O_PAR = 13
I_O_ZF = 14  # offsets into ``st``: zf (S, 2, cp), ze (Se, 2, cp), aux (NAUX, cp), ring (W, cp),
I_O_ZE = 15  # floor (cp,), scale (cp,), scratch (cp / 8 blocks x WORK_PER_BLOCK)
I_O_AUX = 16
I_O_RING = 17
I_O_FLOOR = 18
I_O_SCALE = 19
I_O_WORK = 20
N_IST = 21
# scratch per block in ``st``: start index per channel (8), two 8-vectors; tiles are in ``wk`` (blocks, TILE, 8)
W_START = 0
W_Z0 = W_START + BLOCK
W_Z1 = W_Z0 + BLOCK
WORK_PER_BLOCK = W_Z1 + BLOCK


def padded(n_channels: int) -> int:
    """Channel count rounded up to a multiple of :data:`BLOCK`."""
    return max(BLOCK, ((n_channels + BLOCK - 1) // BLOCK) * BLOCK)


@njit(cache=True)
def _cascade(buf, ta, tb, co, o_sos, n_sec, st, o_z, cp, c0):
    """Run samples ``ta..tb`` of the tile ``buf`` (TILE, 8) through ``n_sec`` sections
    (coefficients at ``co[o_sos:]``, state at ``st[o_z:]`` laid out (sections, 2, cp)) for channels c0..c0+7.

    Written out for 8 channels so that LLVM's SLP vectoriser packs the channels into SIMD registers;
    each channel's state stays in registers across samples. Sections run in pairs, the second one
    a sample behind the first, so two recursions are in flight at once (short chunks are otherwise
    latency-bound). Per sample and section the arithmetic is scipy's sosfilt's, in its order.
    """
    if tb <= ta:
        return
    s = 0
    while s + 1 < n_sec:
        k = o_sos + 6 * s
        b0 = co[k]
        b1 = co[k + 1]
        b2 = co[k + 2]
        a1 = co[k + 4]
        a2 = co[k + 5]
        e0 = co[k + 6]
        e1 = co[k + 7]
        e2 = co[k + 8]
        f1 = co[k + 10]
        f2 = co[k + 11]
        zp = np.uint64(o_z + 2 * s * cp + c0)
        zq = np.uint64(o_z + (2 * s + 1) * cp + c0)
        zr = np.uint64(o_z + (2 * s + 2) * cp + c0)
        zu = np.uint64(o_z + (2 * s + 3) * cp + c0)
        p0 = st[zp + U0]
        p1 = st[zp + U1]
        p2 = st[zp + U2]
        p3 = st[zp + U3]
        p4 = st[zp + U4]
        p5 = st[zp + U5]
        p6 = st[zp + U6]
        p7 = st[zp + U7]
        q0 = st[zq + U0]
        q1 = st[zq + U1]
        q2 = st[zq + U2]
        q3 = st[zq + U3]
        q4 = st[zq + U4]
        q5 = st[zq + U5]
        q6 = st[zq + U6]
        q7 = st[zq + U7]
        r0 = st[zr + U0]
        r1 = st[zr + U1]
        r2 = st[zr + U2]
        r3 = st[zr + U3]
        r4 = st[zr + U4]
        r5 = st[zr + U5]
        r6 = st[zr + U6]
        r7 = st[zr + U7]
        u0 = st[zu + U0]
        u1 = st[zu + U1]
        u2 = st[zu + U2]
        u3 = st[zu + U3]
        u4 = st[zu + U4]
        u5 = st[zu + U5]
        u6 = st[zu + U6]
        u7 = st[zu + U7]
        x0 = buf[ta, 0]
        x1 = buf[ta, 1]
        x2 = buf[ta, 2]
        x3 = buf[ta, 3]
        x4 = buf[ta, 4]
        x5 = buf[ta, 5]
        x6 = buf[ta, 6]
        x7 = buf[ta, 7]
        y0 = b0 * x0 + p0
        y1 = b0 * x1 + p1
        y2 = b0 * x2 + p2
        y3 = b0 * x3 + p3
        y4 = b0 * x4 + p4
        y5 = b0 * x5 + p5
        y6 = b0 * x6 + p6
        y7 = b0 * x7 + p7
        p0 = b1 * x0 - a1 * y0 + q0
        p1 = b1 * x1 - a1 * y1 + q1
        p2 = b1 * x2 - a1 * y2 + q2
        p3 = b1 * x3 - a1 * y3 + q3
        p4 = b1 * x4 - a1 * y4 + q4
        p5 = b1 * x5 - a1 * y5 + q5
        p6 = b1 * x6 - a1 * y6 + q6
        p7 = b1 * x7 - a1 * y7 + q7
        q0 = b2 * x0 - a2 * y0
        q1 = b2 * x1 - a2 * y1
        q2 = b2 * x2 - a2 * y2
        q3 = b2 * x3 - a2 * y3
        q4 = b2 * x4 - a2 * y4
        q5 = b2 * x5 - a2 * y5
        q6 = b2 * x6 - a2 * y6
        q7 = b2 * x7 - a2 * y7
        for t in range(np.uint64(ta + 1), np.uint64(tb)):
            w0 = e0 * y0 + r0
            w1 = e0 * y1 + r1
            w2 = e0 * y2 + r2
            w3 = e0 * y3 + r3
            w4 = e0 * y4 + r4
            w5 = e0 * y5 + r5
            w6 = e0 * y6 + r6
            w7 = e0 * y7 + r7
            r0 = e1 * y0 - f1 * w0 + u0
            r1 = e1 * y1 - f1 * w1 + u1
            r2 = e1 * y2 - f1 * w2 + u2
            r3 = e1 * y3 - f1 * w3 + u3
            r4 = e1 * y4 - f1 * w4 + u4
            r5 = e1 * y5 - f1 * w5 + u5
            r6 = e1 * y6 - f1 * w6 + u6
            r7 = e1 * y7 - f1 * w7 + u7
            u0 = e2 * y0 - f2 * w0
            u1 = e2 * y1 - f2 * w1
            u2 = e2 * y2 - f2 * w2
            u3 = e2 * y3 - f2 * w3
            u4 = e2 * y4 - f2 * w4
            u5 = e2 * y5 - f2 * w5
            u6 = e2 * y6 - f2 * w6
            u7 = e2 * y7 - f2 * w7
            buf[t - U1, 0] = w0
            buf[t - U1, 1] = w1
            buf[t - U1, 2] = w2
            buf[t - U1, 3] = w3
            buf[t - U1, 4] = w4
            buf[t - U1, 5] = w5
            buf[t - U1, 6] = w6
            buf[t - U1, 7] = w7
            x0 = buf[t, 0]
            x1 = buf[t, 1]
            x2 = buf[t, 2]
            x3 = buf[t, 3]
            x4 = buf[t, 4]
            x5 = buf[t, 5]
            x6 = buf[t, 6]
            x7 = buf[t, 7]
            y0 = b0 * x0 + p0
            y1 = b0 * x1 + p1
            y2 = b0 * x2 + p2
            y3 = b0 * x3 + p3
            y4 = b0 * x4 + p4
            y5 = b0 * x5 + p5
            y6 = b0 * x6 + p6
            y7 = b0 * x7 + p7
            p0 = b1 * x0 - a1 * y0 + q0
            p1 = b1 * x1 - a1 * y1 + q1
            p2 = b1 * x2 - a1 * y2 + q2
            p3 = b1 * x3 - a1 * y3 + q3
            p4 = b1 * x4 - a1 * y4 + q4
            p5 = b1 * x5 - a1 * y5 + q5
            p6 = b1 * x6 - a1 * y6 + q6
            p7 = b1 * x7 - a1 * y7 + q7
            q0 = b2 * x0 - a2 * y0
            q1 = b2 * x1 - a2 * y1
            q2 = b2 * x2 - a2 * y2
            q3 = b2 * x3 - a2 * y3
            q4 = b2 * x4 - a2 * y4
            q5 = b2 * x5 - a2 * y5
            q6 = b2 * x6 - a2 * y6
            q7 = b2 * x7 - a2 * y7
        w0 = e0 * y0 + r0
        w1 = e0 * y1 + r1
        w2 = e0 * y2 + r2
        w3 = e0 * y3 + r3
        w4 = e0 * y4 + r4
        w5 = e0 * y5 + r5
        w6 = e0 * y6 + r6
        w7 = e0 * y7 + r7
        r0 = e1 * y0 - f1 * w0 + u0
        r1 = e1 * y1 - f1 * w1 + u1
        r2 = e1 * y2 - f1 * w2 + u2
        r3 = e1 * y3 - f1 * w3 + u3
        r4 = e1 * y4 - f1 * w4 + u4
        r5 = e1 * y5 - f1 * w5 + u5
        r6 = e1 * y6 - f1 * w6 + u6
        r7 = e1 * y7 - f1 * w7 + u7
        u0 = e2 * y0 - f2 * w0
        u1 = e2 * y1 - f2 * w1
        u2 = e2 * y2 - f2 * w2
        u3 = e2 * y3 - f2 * w3
        u4 = e2 * y4 - f2 * w4
        u5 = e2 * y5 - f2 * w5
        u6 = e2 * y6 - f2 * w6
        u7 = e2 * y7 - f2 * w7
        buf[tb - 1, 0] = w0
        buf[tb - 1, 1] = w1
        buf[tb - 1, 2] = w2
        buf[tb - 1, 3] = w3
        buf[tb - 1, 4] = w4
        buf[tb - 1, 5] = w5
        buf[tb - 1, 6] = w6
        buf[tb - 1, 7] = w7
        st[zp + U0] = p0
        st[zp + U1] = p1
        st[zp + U2] = p2
        st[zp + U3] = p3
        st[zp + U4] = p4
        st[zp + U5] = p5
        st[zp + U6] = p6
        st[zp + U7] = p7
        st[zq + U0] = q0
        st[zq + U1] = q1
        st[zq + U2] = q2
        st[zq + U3] = q3
        st[zq + U4] = q4
        st[zq + U5] = q5
        st[zq + U6] = q6
        st[zq + U7] = q7
        st[zr + U0] = r0
        st[zr + U1] = r1
        st[zr + U2] = r2
        st[zr + U3] = r3
        st[zr + U4] = r4
        st[zr + U5] = r5
        st[zr + U6] = r6
        st[zr + U7] = r7
        st[zu + U0] = u0
        st[zu + U1] = u1
        st[zu + U2] = u2
        st[zu + U3] = u3
        st[zu + U4] = u4
        st[zu + U5] = u5
        st[zu + U6] = u6
        st[zu + U7] = u7
        s += 2
    if s < n_sec:
        k = o_sos + 6 * s
        b0 = co[k]
        b1 = co[k + 1]
        b2 = co[k + 2]
        a1 = co[k + 4]
        a2 = co[k + 5]
        zp = np.uint64(o_z + 2 * s * cp + c0)
        zq = np.uint64(o_z + (2 * s + 1) * cp + c0)
        p0 = st[zp + U0]
        p1 = st[zp + U1]
        p2 = st[zp + U2]
        p3 = st[zp + U3]
        p4 = st[zp + U4]
        p5 = st[zp + U5]
        p6 = st[zp + U6]
        p7 = st[zp + U7]
        q0 = st[zq + U0]
        q1 = st[zq + U1]
        q2 = st[zq + U2]
        q3 = st[zq + U3]
        q4 = st[zq + U4]
        q5 = st[zq + U5]
        q6 = st[zq + U6]
        q7 = st[zq + U7]
        for t in range(np.uint64(ta), np.uint64(tb)):
            x0 = buf[t, 0]
            x1 = buf[t, 1]
            x2 = buf[t, 2]
            x3 = buf[t, 3]
            x4 = buf[t, 4]
            x5 = buf[t, 5]
            x6 = buf[t, 6]
            x7 = buf[t, 7]
            y0 = b0 * x0 + p0
            y1 = b0 * x1 + p1
            y2 = b0 * x2 + p2
            y3 = b0 * x3 + p3
            y4 = b0 * x4 + p4
            y5 = b0 * x5 + p5
            y6 = b0 * x6 + p6
            y7 = b0 * x7 + p7
            p0 = b1 * x0 - a1 * y0 + q0
            p1 = b1 * x1 - a1 * y1 + q1
            p2 = b1 * x2 - a1 * y2 + q2
            p3 = b1 * x3 - a1 * y3 + q3
            p4 = b1 * x4 - a1 * y4 + q4
            p5 = b1 * x5 - a1 * y5 + q5
            p6 = b1 * x6 - a1 * y6 + q6
            p7 = b1 * x7 - a1 * y7 + q7
            q0 = b2 * x0 - a2 * y0
            q1 = b2 * x1 - a2 * y1
            q2 = b2 * x2 - a2 * y2
            q3 = b2 * x3 - a2 * y3
            q4 = b2 * x4 - a2 * y4
            q5 = b2 * x5 - a2 * y5
            q6 = b2 * x6 - a2 * y6
            q7 = b2 * x7 - a2 * y7
            buf[t, 0] = y0
            buf[t, 1] = y1
            buf[t, 2] = y2
            buf[t, 3] = y3
            buf[t, 4] = y4
            buf[t, 5] = y5
            buf[t, 6] = y6
            buf[t, 7] = y7
        st[zp + U0] = p0
        st[zp + U1] = p1
        st[zp + U2] = p2
        st[zp + U3] = p3
        st[zp + U4] = p4
        st[zp + U5] = p5
        st[zp + U6] = p6
        st[zp + U7] = p7
        st[zq + U0] = q0
        st[zq + U1] = q1
        st[zq + U2] = q2
        st[zq + U3] = q3
        st[zq + U4] = q4
        st[zq + U5] = q5
        st[zq + U6] = q6
        st[zq + U7] = q7


@njit(cache=True)
def _lowpass_rect(buf, nt, co, k, st, zp, cp, clamp):
    """One low-pass section over |buf| in place (rectify fused in), output clamped at 0 if ``clamp``;
    coefficients at ``co[k:k+6]``, state at ``st[zp:zp+8]`` and ``st[zp+cp:zp+cp+8]``. Same arithmetic as
    rectifying first and then running :func:`_cascade`, so outputs are identical."""
    b0 = co[k]
    b1 = co[k + 1]
    b2 = co[k + 2]
    a1 = co[k + 4]
    a2 = co[k + 5]
    vq = np.uint64(zp + cp)
    vp = np.uint64(zp)
    p0 = st[vp + U0]
    p1 = st[vp + U1]
    p2 = st[vp + U2]
    p3 = st[vp + U3]
    p4 = st[vp + U4]
    p5 = st[vp + U5]
    p6 = st[vp + U6]
    p7 = st[vp + U7]
    q0 = st[vq + U0]
    q1 = st[vq + U1]
    q2 = st[vq + U2]
    q3 = st[vq + U3]
    q4 = st[vq + U4]
    q5 = st[vq + U5]
    q6 = st[vq + U6]
    q7 = st[vq + U7]
    for t in range(np.uint64(nt)):
        x0 = abs(buf[t, 0])
        x1 = abs(buf[t, 1])
        x2 = abs(buf[t, 2])
        x3 = abs(buf[t, 3])
        x4 = abs(buf[t, 4])
        x5 = abs(buf[t, 5])
        x6 = abs(buf[t, 6])
        x7 = abs(buf[t, 7])
        y0 = b0 * x0 + p0
        y1 = b0 * x1 + p1
        y2 = b0 * x2 + p2
        y3 = b0 * x3 + p3
        y4 = b0 * x4 + p4
        y5 = b0 * x5 + p5
        y6 = b0 * x6 + p6
        y7 = b0 * x7 + p7
        p0 = b1 * x0 - a1 * y0 + q0
        p1 = b1 * x1 - a1 * y1 + q1
        p2 = b1 * x2 - a1 * y2 + q2
        p3 = b1 * x3 - a1 * y3 + q3
        p4 = b1 * x4 - a1 * y4 + q4
        p5 = b1 * x5 - a1 * y5 + q5
        p6 = b1 * x6 - a1 * y6 + q6
        p7 = b1 * x7 - a1 * y7 + q7
        q0 = b2 * x0 - a2 * y0
        q1 = b2 * x1 - a2 * y1
        q2 = b2 * x2 - a2 * y2
        q3 = b2 * x3 - a2 * y3
        q4 = b2 * x4 - a2 * y4
        q5 = b2 * x5 - a2 * y5
        q6 = b2 * x6 - a2 * y6
        q7 = b2 * x7 - a2 * y7
        if clamp:
            buf[t, 0] = max(y0, 0.0)
            buf[t, 1] = max(y1, 0.0)
            buf[t, 2] = max(y2, 0.0)
            buf[t, 3] = max(y3, 0.0)
            buf[t, 4] = max(y4, 0.0)
            buf[t, 5] = max(y5, 0.0)
            buf[t, 6] = max(y6, 0.0)
            buf[t, 7] = max(y7, 0.0)
        else:
            buf[t, 0] = y0
            buf[t, 1] = y1
            buf[t, 2] = y2
            buf[t, 3] = y3
            buf[t, 4] = y4
            buf[t, 5] = y5
            buf[t, 6] = y6
            buf[t, 7] = y7
    st[vp + U0] = p0
    st[vp + U1] = p1
    st[vp + U2] = p2
    st[vp + U3] = p3
    st[vp + U4] = p4
    st[vp + U5] = p5
    st[vp + U6] = p6
    st[vp + U7] = p7
    st[vq + U0] = q0
    st[vq + U1] = q1
    st[vq + U2] = q2
    st[vq + U3] = q3
    st[vq + U4] = q4
    st[vq + U5] = q5
    st[vq + U6] = q6
    st[vq + U7] = q7


@njit(cache=True)
def _adaptive(buf, nt, st, s1, s2, s3, a_slow, a_fast, d0, inv_dd, eps, hold):
    """Adaptive smoothing of the tile ``buf`` (TILE, 8) in place; stage states at ``st[s1:]``, ``st[s2:]``.

    Two first-order stages share a corner that slides from slow to fast with the relative distance
    between the input (pre-envelope) and the output; the corner position is peak-held and released
    with time constant set by ``hold`` (state at ``st[s3:]``), so after a change the output converges
    fast all the way instead of creeping over the last part. Written out for 8 channels (SIMD).
    """
    v1 = np.uint64(s1)
    v2 = np.uint64(s2)
    v3 = np.uint64(s3)
    m0 = st[v1 + U0]
    m1 = st[v1 + U1]
    m2 = st[v1 + U2]
    m3 = st[v1 + U3]
    m4 = st[v1 + U4]
    m5 = st[v1 + U5]
    m6 = st[v1 + U6]
    m7 = st[v1 + U7]
    o0 = st[v2 + U0]
    o1 = st[v2 + U1]
    o2 = st[v2 + U2]
    o3 = st[v2 + U3]
    o4 = st[v2 + U4]
    o5 = st[v2 + U5]
    o6 = st[v2 + U6]
    o7 = st[v2 + U7]
    k0 = st[v3 + U0]
    k1 = st[v3 + U1]
    k2 = st[v3 + U2]
    k3 = st[v3 + U3]
    k4 = st[v3 + U4]
    k5 = st[v3 + U5]
    k6 = st[v3 + U6]
    k7 = st[v3 + U7]
    da = a_fast - a_slow
    for t in range(np.uint64(nt)):
        f0 = max(buf[t, 0], 0.0)
        f1 = max(buf[t, 1], 0.0)
        f2 = max(buf[t, 2], 0.0)
        f3 = max(buf[t, 3], 0.0)
        f4 = max(buf[t, 4], 0.0)
        f5 = max(buf[t, 5], 0.0)
        f6 = max(buf[t, 6], 0.0)
        f7 = max(buf[t, 7], 0.0)
        h0 = max(f0, o0)
        h1 = max(f1, o1)
        h2 = max(f2, o2)
        h3 = max(f3, o3)
        h4 = max(f4, o4)
        h5 = max(f5, o5)
        h6 = max(f6, o6)
        h7 = max(f7, o7)
        l0 = min(f0, o0)
        l1 = min(f1, o1)
        l2 = min(f2, o2)
        l3 = min(f3, o3)
        l4 = min(f4, o4)
        l5 = min(f5, o5)
        l6 = min(f6, o6)
        l7 = min(f7, o7)
        g0 = min(max(((h0 - l0) / (l0 + eps) - d0) * inv_dd, 0.0), 1.0)
        g1 = min(max(((h1 - l1) / (l1 + eps) - d0) * inv_dd, 0.0), 1.0)
        g2 = min(max(((h2 - l2) / (l2 + eps) - d0) * inv_dd, 0.0), 1.0)
        g3 = min(max(((h3 - l3) / (l3 + eps) - d0) * inv_dd, 0.0), 1.0)
        g4 = min(max(((h4 - l4) / (l4 + eps) - d0) * inv_dd, 0.0), 1.0)
        g5 = min(max(((h5 - l5) / (l5 + eps) - d0) * inv_dd, 0.0), 1.0)
        g6 = min(max(((h6 - l6) / (l6 + eps) - d0) * inv_dd, 0.0), 1.0)
        g7 = min(max(((h7 - l7) / (l7 + eps) - d0) * inv_dd, 0.0), 1.0)
        k0 = max(g0, k0 * hold)
        a0 = a_slow + da * k0
        k1 = max(g1, k1 * hold)
        a1 = a_slow + da * k1
        k2 = max(g2, k2 * hold)
        a2 = a_slow + da * k2
        k3 = max(g3, k3 * hold)
        a3 = a_slow + da * k3
        k4 = max(g4, k4 * hold)
        a4 = a_slow + da * k4
        k5 = max(g5, k5 * hold)
        a5 = a_slow + da * k5
        k6 = max(g6, k6 * hold)
        a6 = a_slow + da * k6
        k7 = max(g7, k7 * hold)
        a7 = a_slow + da * k7
        m0 = m0 + a0 * (f0 - m0)
        m1 = m1 + a1 * (f1 - m1)
        m2 = m2 + a2 * (f2 - m2)
        m3 = m3 + a3 * (f3 - m3)
        m4 = m4 + a4 * (f4 - m4)
        m5 = m5 + a5 * (f5 - m5)
        m6 = m6 + a6 * (f6 - m6)
        m7 = m7 + a7 * (f7 - m7)
        o0 = o0 + a0 * (m0 - o0)
        o1 = o1 + a1 * (m1 - o1)
        o2 = o2 + a2 * (m2 - o2)
        o3 = o3 + a3 * (m3 - o3)
        o4 = o4 + a4 * (m4 - o4)
        o5 = o5 + a5 * (m5 - o5)
        o6 = o6 + a6 * (m6 - o6)
        o7 = o7 + a7 * (m7 - o7)
        buf[t, 0] = o0
        buf[t, 1] = o1
        buf[t, 2] = o2
        buf[t, 3] = o3
        buf[t, 4] = o4
        buf[t, 5] = o5
        buf[t, 6] = o6
        buf[t, 7] = o7
    st[v1 + U0] = m0
    st[v1 + U1] = m1
    st[v1 + U2] = m2
    st[v1 + U3] = m3
    st[v1 + U4] = m4
    st[v1 + U5] = m5
    st[v1 + U6] = m6
    st[v1 + U7] = m7
    st[v2 + U0] = o0
    st[v2 + U1] = o1
    st[v2 + U2] = o2
    st[v2 + U3] = o3
    st[v2 + U4] = o4
    st[v2 + U5] = o5
    st[v2 + U6] = o6
    st[v2 + U7] = o7
    st[v3 + U0] = k0
    st[v3 + U1] = k1
    st[v3 + U2] = k2
    st[v3 + U3] = k3
    st[v3 + U4] = k4
    st[v3 + U5] = k5
    st[v3 + U6] = k6
    st[v3 + U7] = k7


@njit(cache=True)
def run_block(x, c0, out_f, out_e, co, st, ist, pos0, cnt0, wo, buf):
    """Process channels ``c0 .. c0+7`` of ``x`` (C, n) through the chain; update their state in place.

    ``out_f`` / ``out_e`` are (C, n) or (0, 0) when not wanted. ``pos0``/``cnt0``: RMS ring position
    and sample count before this call (shared by all channels); ``wo``: this block's scratch offset
    in ``st``; ``buf``: this block's (TILE, 8) tile.
    """
    n_ch = x.shape[0]
    n = x.shape[1]
    cp = ist[I_CP]
    env_code = ist[I_ENV]
    init_ss = ist[I_INIT] == 1
    n_sec = ist[I_S]
    n_esec = ist[I_SE]
    win = ist[I_W]
    o_sos = ist[I_O_SOS]
    o_zi = ist[I_O_ZI]
    o_esos = ist[I_O_ESOS]
    o_par = ist[I_O_PAR]
    o_zf = ist[I_O_ZF]
    o_ze = ist[I_O_ZE]
    o_aux = ist[I_O_AUX]
    o_ring = ist[I_O_RING]
    want_f = out_f.shape[0] == n_ch and out_f.shape[1] == n
    want_e = out_e.shape[0] == n_ch and out_e.shape[1] == n and env_code >= 0
    ws = wo + W_START
    z0 = wo + W_Z0
    z1 = wo + W_Z1
    a_last = o_aux + AUX_LAST * cp + c0
    a_started = o_aux + AUX_STARTED * cp + c0
    a_bad = o_aux + AUX_NONFINITE * cp + c0
    t0 = 0
    while t0 < n:
        nt = min(TILE, n - t0)
        # 1. gather into the tile, hold non-finite samples, note the first finite sample of new channels
        for j in range(BLOCK):
            c = c0 + j
            st[ws + j] = -1.0
            if c < n_ch:
                started = st[a_started + j] > 0.0
                if started:
                    # fast path: copy, counting bad samples without branching (unsigned indices: no
                    # negative-index checks in the loop)
                    n_bad = 0
                    uc = np.uint64(c)
                    uj = np.uint64(j)
                    ut0 = np.uint64(t0)
                    for ut in range(np.uint64(nt)):
                        v = x[uc, ut0 + ut]
                        buf[ut, uj] = v
                        n_bad += not abs(v) < MAX_ABS_UV
                    if n_bad == 0:
                        st[a_last + j] = buf[nt - 1, j]
                        continue
                last = st[a_last + j]
                bad = 0.0
                for t in range(nt):
                    v = x[c, t0 + t]
                    if abs(v) < MAX_ABS_UV:  # False for NaN, +-inf and absurd values
                        if not started:
                            started = True
                            st[ws + j] = float(t)
                        last = v
                    else:
                        bad += 1.0
                        v = last if started else 0.0
                    buf[t, j] = v
                st[a_last + j] = last
                st[a_started + j] = 1.0 if started else 0.0
                st[a_bad + j] += bad
            else:
                for t in range(nt):
                    buf[t, j] = 0.0
        # 2. cascade, split where a channel starts (its state is set to steady state for that sample)
        if n_sec > 0:
            ta = 0
            while True:
                tb = nt
                for j in range(BLOCK):
                    sj = st[ws + j]
                    if sj == float(ta) and init_ss:
                        v = buf[ta, j]
                        for s in range(n_sec):
                            st[o_zf + 2 * s * cp + c0 + j] = co[o_zi + 2 * s] * v
                            st[o_zf + (2 * s + 1) * cp + c0 + j] = co[o_zi + 2 * s + 1] * v
                    if sj > ta and sj < tb:
                        tb = int(sj)
                _cascade(buf, ta, tb, co, o_sos, n_sec, st, o_zf, cp, c0)
                if tb >= nt:
                    break
                ta = tb
        if want_f:
            for j in range(BLOCK):
                c = c0 + j
                if c < n_ch:
                    uc = np.uint64(c)
                    uj = np.uint64(j)
                    ut0 = np.uint64(t0)
                    for ut in range(np.uint64(nt)):
                        out_f[uc, ut0 + ut] = buf[ut, uj]
        # 3. envelope, in place in the tile
        if want_e:
            if env_code == ENV_LINEAR and n_esec == 1:
                _lowpass_rect(buf, nt, co, o_esos, st, o_ze + c0, cp, True)
            elif env_code == ENV_LINEAR:
                for t in range(nt):
                    for j in range(BLOCK):
                        buf[t, j] = abs(buf[t, j])
                _cascade(buf, 0, nt, co, o_esos, n_esec, st, o_ze, cp, c0)
                for t in range(nt):
                    for j in range(BLOCK):
                        buf[t, j] = max(buf[t, j], 0.0)
            elif env_code == ENV_TKEO:
                for j in range(BLOCK):
                    st[z0 + j] = st[o_aux + AUX_Y1 * cp + c0 + j]
                    st[z1 + j] = st[o_aux + AUX_Y2 * cp + c0 + j]
                for t in range(nt):
                    for j in range(BLOCK):
                        y = buf[t, j]
                        y1 = st[z0 + j]
                        # causal Teager-Kaiser operator, one sample late: y[n-1]^2 - y[n] y[n-2]
                        psi = y1 * y1 - y * st[z1 + j]
                        st[z1 + j] = y1
                        st[z0 + j] = y
                        buf[t, j] = abs(psi)
                for j in range(BLOCK):
                    st[o_aux + AUX_Y1 * cp + c0 + j] = st[z0 + j]
                    st[o_aux + AUX_Y2 * cp + c0 + j] = st[z1 + j]
                _cascade(buf, 0, nt, co, o_esos, n_esec, st, o_ze, cp, c0)
                for t in range(nt):
                    for j in range(BLOCK):
                        buf[t, j] = math.sqrt(max(buf[t, j], 0.0))
            elif env_code == ENV_RMS:
                pos = (pos0 + t0) % win
                cnt = cnt0 + t0
                a_sum = o_aux + AUX_RMS_SUM * cp + c0
                for t in range(nt):
                    if pos == 0 and cnt >= win:
                        # exact re-sum once per window so rounding never accumulates
                        for j in range(BLOCK):
                            acc = 0.0
                            for k in range(win):
                                acc += st[o_ring + k * cp + c0 + j]
                            st[a_sum + j] = acc
                    denom = float(min(cnt + 1, win))
                    rp = o_ring + pos * cp + c0
                    for j in range(BLOCK):
                        v = buf[t, j]
                        sq = v * v
                        acc = st[a_sum + j] + sq - st[rp + j]
                        st[a_sum + j] = acc
                        st[rp + j] = sq
                        buf[t, j] = math.sqrt(max(acc, 0.0) / denom)
                    pos += 1
                    if pos == win:
                        pos = 0
                    cnt += 1
            elif env_code == ENV_ADAPTIVE:
                # fast pre-envelope: rectify + low-pass; then two first-order smoothing stages whose
                # common corner slides between a slow and a fast value with the relative distance
                # between the pre-envelope and the output (an adaptive low-pass in the "1 euro" style).
                if n_esec == 1:
                    _lowpass_rect(buf, nt, co, o_esos, st, o_ze + c0, cp, False)
                else:
                    for t in range(nt):
                        for j in range(BLOCK):
                            buf[t, j] = abs(buf[t, j])
                    _cascade(buf, 0, nt, co, o_esos, n_esec, st, o_ze, cp, c0)
                a_slow = co[o_par + PAR_FMIN_ALPHA]
                a_fast = co[o_par + PAR_FMAX_ALPHA]
                d0 = co[o_par + PAR_D0]
                inv_dd = 1.0 / (co[o_par + PAR_D1] - d0)
                eps = co[o_par + PAR_EPS]
                s1 = o_aux + AUX_ADAPT * cp + c0
                s2 = o_aux + AUX_ADAPT2 * cp + c0
                s3 = o_aux + AUX_HOLD * cp + c0
                _adaptive(buf, nt, st, s1, s2, s3, a_slow, a_fast, d0, inv_dd, eps, co[o_par + PAR_HOLD])
            for j in range(BLOCK):
                c = c0 + j
                if c < n_ch:
                    uc = np.uint64(c)
                    uj = np.uint64(j)
                    ut0 = np.uint64(t0)
                    for ut in range(np.uint64(nt)):
                        out_e[uc, ut0 + ut] = buf[ut, uj]
        t0 += nt


@njit(cache=True)
def _percent(out_e, st, ist):
    """Envelope -> % of reference in place: (env - floor) * scale per channel."""
    fo = ist[I_O_FLOOR]
    so = ist[I_O_SCALE]
    for c in range(out_e.shape[0]):
        fl = st[fo + c]
        sc = st[so + c]
        for t in range(out_e.shape[1]):
            out_e[c, t] = (out_e[c, t] - fl) * sc


@njit("void(float64[:, ::1], float64[:, ::1], float64[::1], int64[::1])", cache=True)
def finish(x, out_e, st, ist):
    """After all blocks: advance the shared counters; apply % of reference if ``ist[I_PCT]`` is set."""
    n = x.shape[1]
    ist[I_POS] = (ist[I_POS] + n) % ist[I_W]
    ist[I_CNT] += n
    if ist[I_PCT] == 1 and out_e.shape[0] == x.shape[0] and out_e.shape[1] == n:
        _percent(out_e, st, ist)


@njit(_RANGE_SIG, cache=True, nogil=True)
def run_range(x, out_f, out_e, co, st, ist, wk, b0, b1):
    """Channel blocks ``b0 .. b1-1`` of ``x`` (C, n) through the chain, without the GIL (threads may run
    disjoint block ranges of one chain at once). Returns -1 on a wrong channel count, else 0."""
    if x.shape[0] != ist[I_N_CH]:
        return -1
    wo = ist[I_O_WORK]
    p0 = ist[I_POS]
    k0 = ist[I_CNT]
    for b in range(b0, b1):
        run_block(x, b * BLOCK, out_f, out_e, co, st, ist, p0, k0, wo + b * WORK_PER_BLOCK, wk[b])
    return 0


@njit(_RUN_SIG, cache=True)
def run_serial(x, out_f, out_e, co, st, ist, wk):
    """Push ``x`` (C, n) through the chain, all blocks in this thread (streaming: one call per chunk).

    Returns 0, or -1 when ``x`` has the wrong channel count (nothing is changed then)."""
    if run_range(x, out_f, out_e, co, st, ist, wk, 0, ist[I_CP] // BLOCK) != 0:
        return -1
    finish(x, out_e, st, ist)
    return 0


@njit(_RUN_SIG, cache=True)
def run_serial_pct(x, out_f, out_e, co, st, ist, wk):
    """As :func:`run_serial`, with the envelope output turned into % of reference (streaming feedback)."""
    if run_range(x, out_f, out_e, co, st, ist, wk, 0, ist[I_CP] // BLOCK) != 0:
        return -1
    finish(x, out_e, st, ist)
    if ist[I_PCT] == 0 and out_e.shape[0] == x.shape[0] and out_e.shape[1] == x.shape[1]:
        _percent(out_e, st, ist)
    return 0


numba.config.SLP_VECTORIZE = _SLP_BEFORE
