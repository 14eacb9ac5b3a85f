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
``wk`` (blocks, TILE, 8); flat indexing keeps calls free of array-view set-up. :class:`dsp._chain.Chain`
keeps ``wk``, ``co``, ``st`` and the quality monitor's parameters and state ``q`` in one buffer and passes
that buffer as both ``co`` and ``st`` (the ``I_O_*`` offsets are positions in it), so the streaming entry
:func:`run_live` (chain, % of reference and quality flags in one call) takes six arguments: Numba's
dispatch costs about 75 ns per array argument, a fair share of a 16 x 10 call. Because every stateful
quantity lives in ``st``/``ist`` (and ``q``) and nothing depends on where a chunk starts, any chunking
of the input gives bit-identical output to one batch pass.
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

_RUN_SIG = (
    "int64(float64[:, ::1], float64[:, ::1], float64[:, ::1], float64[::1], float64[::1], int64[::1], "
    "float64[:, :, ::1])"
)
_RANGE_SIG = (
    "int64(float64[:, ::1], float64[:, ::1], float64[:, ::1], float64[::1], float64[::1], int64[::1], "
    "float64[:, :, ::1], int64, int64)"
)
_QUALITY_SIG = "int64(float64[:, ::1], uint8[:, ::1], float64[::1])"
_LIVE_SIG = "int64(float64[::1], int64[::1], int64, float64[:, ::1], float64[:, ::1], uint8[:, ::1])"

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
AUX_GAIN = 8  # adaptive envelope: smoothing coefficient of the two stages (0: not started yet)
AUX_CUSUM_UP = 9  # adaptive envelope: rise evidence (one-sided CUSUM, ms x excess)
AUX_CUSUM_DN = 10  # adaptive envelope: fall evidence
AUX_REF1 = 11  # adaptive envelope: decision track, first stage
AUX_REF = 12  # adaptive envelope: decision track, second stage (the level the change tests compare with)
AUX_TREND = 13  # adaptive envelope: smoothed relative innovation of the output (drives the middle corner)
NAUX = 14

# adaptive-envelope parameters (NPAR floats in ``co``)
PAR_FMIN_ALPHA = 0  # smoothing coefficient at the slow corner (no change in progress)
PAR_FMAX_ALPHA = 1  # smoothing coefficient at the fast corner (a change was declared)
PAR_K_UP = 2  # CUSUM allowance of the rise test: relative innovation counted only above this (0..1)
PAR_K_DN = 3  # ... of the fall test
PAR_H_UP = 4  # rise evidence (ms x excess) at which the corner starts to open
PAR_H_DN = 5  # fall evidence at which the corner starts to open
PAR_W_UP = 6  # 1 / (evidence over which the corner goes from closed to fully open), rise
PAR_W_DN = 7  # ... fall
PAR_INV_KAPPA = 8  # 1 / kappa: after a change the coefficient decays as kappa / samples since the change
PAR_EPS = 9  # uV added to the larger of pre-envelope and output before dividing
PAR_DT_MS = 10  # sampling interval in ms (evidence is summed in time, not in samples)
PAR_MID_ALPHA = 11  # smoothing coefficient at the middle corner (output following a gradual change)
PAR_TREND_ALPHA = 12  # coefficient of the smoothing of the output's relative innovation
PAR_TREND0 = 13  # |smoothed innovation| below which the output stays at the slow corner
PAR_INV_DTREND = 14  # 1 / (|smoothed innovation| span over which it moves to the middle corner)
NPAR = 16

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
I_O_SOS = 10  # offsets into ``co``: sos (S, 6), zi_unit (S, 2), esos (Se, 6), par (NPAR,) (dsp._chain.Chain
# passes one buffer as both ``co`` and ``st``; the offsets are positions in it)
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
I_B_WK = 21  # offsets into one buffer holding tiles, coefficients, state and extra (the quality monitor's) ...
I_B_CO = 22
I_B_ST = 23
I_B_X = 24
I_N_CO = 25  # ... and the sizes of coefficients, state, extra (:func:`run_live` takes that buffer alone)
I_N_ST = 26
I_N_X = 27
N_IST = 28
# quality monitor (:func:`quality_flags`, :func:`run_live`): one flat float64 array ``q``, parameters first,
# then the state per channel (rows of the real channel count); counters are whole numbers stored as float64
Q_RAIL = 0  # |x| at or above this is RAILED (uV; inf: no rail check)
Q_FLAT_STEP = 1  # a change of at most this (uV) between samples counts towards FLAT
Q_FLAT_N = 2  # samples without change before FLAT
Q_SPIKE_UV = 3  # a jump above this (uV) between samples is a SPIKE ...
Q_SPIKE_HOLD = 4  # ... flagged for this many samples
Q_LEAD_N = 5  # railed or flat samples in a row before LEAD_OFF
Q_N_CH = 6  # channel count
NQPAR = 8  # parameters; state rows follow: last finite sample, flat run, bad run, spike samples left
QS_LAST = 0
QS_FLAT_RUN = 1
QS_BAD_RUN = 2
QS_SPIKE_LEFT = 3
NQS = 4
# flag bits (the values of dsp.quality.QualityFlag)
F_RAILED = 1
F_FLAT = 2
F_NAN = 4
F_SPIKE = 8
F_LEAD_OFF = 16
F_DROPPED = 32

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
def _lowpass_rect_out(buf, nt, co, k, st, zp, cp, out_f, want_f, out_e, c0, t0):
    """Fused last stage for a full block with the linear envelope: write the tile ``buf`` (filtered)
    to rows ``c0 .. c0+7`` of ``out_f`` (if ``want_f``), run :func:`_lowpass_rect` (clamped) on it and
    write the envelope to the same rows of ``out_e``, in one pass (the low-pass recursion is
    latency-bound, so the row stores come almost free). Same arithmetic as :func:`_lowpass_rect`."""
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
    f0 = out_f[c0] if want_f else out_e[c0]
    f1 = out_f[c0 + 1] if want_f else out_e[c0 + 1]
    f2 = out_f[c0 + 2] if want_f else out_e[c0 + 2]
    f3 = out_f[c0 + 3] if want_f else out_e[c0 + 3]
    f4 = out_f[c0 + 4] if want_f else out_e[c0 + 4]
    f5 = out_f[c0 + 5] if want_f else out_e[c0 + 5]
    f6 = out_f[c0 + 6] if want_f else out_e[c0 + 6]
    f7 = out_f[c0 + 7] if want_f else out_e[c0 + 7]
    e0 = out_e[c0]
    e1 = out_e[c0 + 1]
    e2 = out_e[c0 + 2]
    e3 = out_e[c0 + 3]
    e4 = out_e[c0 + 4]
    e5 = out_e[c0 + 5]
    e6 = out_e[c0 + 6]
    e7 = out_e[c0 + 7]
    ut0 = np.uint64(t0)
    for t in range(np.uint64(nt)):
        u = ut0 + t
        w0 = buf[t, U0]
        w1 = buf[t, U1]
        w2 = buf[t, U2]
        w3 = buf[t, U3]
        w4 = buf[t, U4]
        w5 = buf[t, U5]
        w6 = buf[t, U6]
        w7 = buf[t, U7]
        if want_f:
            f0[u] = w0
            f1[u] = w1
            f2[u] = w2
            f3[u] = w3
            f4[u] = w4
            f5[u] = w5
            f6[u] = w6
            f7[u] = w7
        x0 = abs(w0)
        x1 = abs(w1)
        x2 = abs(w2)
        x3 = abs(w3)
        x4 = abs(w4)
        x5 = abs(w5)
        x6 = abs(w6)
        x7 = abs(w7)
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
        e0[u] = max(y0, 0.0)
        e1[u] = max(y1, 0.0)
        e2[u] = max(y2, 0.0)
        e3[u] = max(y3, 0.0)
        e4[u] = max(y4, 0.0)
        e5[u] = max(y5, 0.0)
        e6[u] = max(y6, 0.0)
        e7[u] = max(y7, 0.0)
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
def _adaptive(buf, nt, st, o_aux, cp, c0, co, o_par):
    """Adaptive smoothing of the tile ``buf`` (TILE, 8) of pre-envelope values in place; state rows of
    ``st`` at ``o_aux + AUX_* * cp + c0`` (8 channels each). Written out for 8 channels (SIMD).

    Decision track: two first-order stages (``AUX_REF1``, ``AUX_REF``) with a shared coefficient ``a``
    (``AUX_GAIN``; 0 means "not started" and reads as the fast coefficient). A change of level is
    declared by two one-sided CUSUM tests on its relative innovation ``q = (pre - ref) / max(pre, ref)``
    (``AUX_CUSUM_UP``, ``AUX_CUSUM_DN``): each sums the excess of ``q`` (or ``-q``) over an allowance, in
    milliseconds, clamped at 0, and opens the corner to fast only once that evidence passes a threshold.
    The short deep dips and peaks of the pre-envelope during a steady contraction (a few ms each) never
    gather that much evidence; a real step does within 10-30 ms. After a change ``a`` decays
    harmonically (``a <- a / (1 + a / kappa)``: the running mean of the samples since the change) down
    to the slow corner, so the track settles on the new level without creeping or chasing noise.

    Display track (``AUX_ADAPT``, ``AUX_ADAPT2``: the output): the same two stages with coefficient
    ``max(a, mid)``, where ``mid`` rises from the slow to a middle corner with the smoothed relative
    innovation of the display (``AUX_TREND``), so gradual rises and relaxations, which never make a
    step-sized innovation, are followed like a ~5 Hz low-pass would, without slowing the decision track.
    """
    a_slow = co[o_par + PAR_FMIN_ALPHA]
    a_fast = co[o_par + PAR_FMAX_ALPHA]
    a_mid = co[o_par + PAR_MID_ALPHA]
    a_z = co[o_par + PAR_TREND_ALPHA]
    zt0 = co[o_par + PAR_TREND0]
    inv_dz = co[o_par + PAR_INV_DTREND]
    k_up = co[o_par + PAR_K_UP]
    k_dn = co[o_par + PAR_K_DN]
    h_up = co[o_par + PAR_H_UP]
    h_dn = co[o_par + PAR_H_DN]
    w_up = co[o_par + PAR_W_UP]
    w_dn = co[o_par + PAR_W_DN]
    ik = co[o_par + PAR_INV_KAPPA]
    eps = co[o_par + PAR_EPS]
    dt = co[o_par + PAR_DT_MS]
    cap_up = 2.0 * h_up
    cap_dn = 2.0 * h_dn
    da_mid = a_mid - a_slow
    vm = np.uint64(o_aux + AUX_ADAPT * cp + c0)
    vo = np.uint64(o_aux + AUX_ADAPT2 * cp + c0)
    va = np.uint64(o_aux + AUX_GAIN * cp + c0)
    vu = np.uint64(o_aux + AUX_CUSUM_UP * cp + c0)
    vd = np.uint64(o_aux + AUX_CUSUM_DN * cp + c0)
    vn = np.uint64(o_aux + AUX_REF1 * cp + c0)
    vr = np.uint64(o_aux + AUX_REF * cp + c0)
    vz = np.uint64(o_aux + AUX_TREND * cp + c0)
    m0 = st[vm + U0]
    m1 = st[vm + U1]
    m2 = st[vm + U2]
    m3 = st[vm + U3]
    m4 = st[vm + U4]
    m5 = st[vm + U5]
    m6 = st[vm + U6]
    m7 = st[vm + U7]
    o0 = st[vo + U0]
    o1 = st[vo + U1]
    o2 = st[vo + U2]
    o3 = st[vo + U3]
    o4 = st[vo + U4]
    o5 = st[vo + U5]
    o6 = st[vo + U6]
    o7 = st[vo + U7]
    a0 = st[va + U0]
    a1 = st[va + U1]
    a2 = st[va + U2]
    a3 = st[va + U3]
    a4 = st[va + U4]
    a5 = st[va + U5]
    a6 = st[va + U6]
    a7 = st[va + U7]
    u0 = st[vu + U0]
    u1 = st[vu + U1]
    u2 = st[vu + U2]
    u3 = st[vu + U3]
    u4 = st[vu + U4]
    u5 = st[vu + U5]
    u6 = st[vu + U6]
    u7 = st[vu + U7]
    d0 = st[vd + U0]
    d1 = st[vd + U1]
    d2 = st[vd + U2]
    d3 = st[vd + U3]
    d4 = st[vd + U4]
    d5 = st[vd + U5]
    d6 = st[vd + U6]
    d7 = st[vd + U7]
    n0 = st[vn + U0]
    n1 = st[vn + U1]
    n2 = st[vn + U2]
    n3 = st[vn + U3]
    n4 = st[vn + U4]
    n5 = st[vn + U5]
    n6 = st[vn + U6]
    n7 = st[vn + U7]
    r0 = st[vr + U0]
    r1 = st[vr + U1]
    r2 = st[vr + U2]
    r3 = st[vr + U3]
    r4 = st[vr + U4]
    r5 = st[vr + U5]
    r6 = st[vr + U6]
    r7 = st[vr + U7]
    z0 = st[vz + U0]
    z1 = st[vz + U1]
    z2 = st[vz + U2]
    z3 = st[vz + U3]
    z4 = st[vz + U4]
    z5 = st[vz + U5]
    z6 = st[vz + U6]
    z7 = st[vz + U7]
    if not a0 > 0.0:
        a0 = a_fast
    if not a1 > 0.0:
        a1 = a_fast
    if not a2 > 0.0:
        a2 = a_fast
    if not a3 > 0.0:
        a3 = a_fast
    if not a4 > 0.0:
        a4 = a_fast
    if not a5 > 0.0:
        a5 = a_fast
    if not a6 > 0.0:
        a6 = a_fast
    if not a7 > 0.0:
        a7 = a_fast
    for t in range(np.uint64(nt)):
        f0 = max(buf[t, 0], 0.0)
        f1 = max(buf[t, 1], 0.0)
        f2 = max(buf[t, 2], 0.0)
        f3 = max(buf[t, 3], 0.0)
        f4 = max(buf[t, 4], 0.0)
        f5 = max(buf[t, 5], 0.0)
        f6 = max(buf[t, 6], 0.0)
        f7 = max(buf[t, 7], 0.0)
        q0 = (f0 - r0) / (max(f0, r0) + eps)
        q1 = (f1 - r1) / (max(f1, r1) + eps)
        q2 = (f2 - r2) / (max(f2, r2) + eps)
        q3 = (f3 - r3) / (max(f3, r3) + eps)
        q4 = (f4 - r4) / (max(f4, r4) + eps)
        q5 = (f5 - r5) / (max(f5, r5) + eps)
        q6 = (f6 - r6) / (max(f6, r6) + eps)
        q7 = (f7 - r7) / (max(f7, r7) + eps)
        u0 = min(max(u0 + (q0 - k_up) * dt, 0.0), cap_up)
        u1 = min(max(u1 + (q1 - k_up) * dt, 0.0), cap_up)
        u2 = min(max(u2 + (q2 - k_up) * dt, 0.0), cap_up)
        u3 = min(max(u3 + (q3 - k_up) * dt, 0.0), cap_up)
        u4 = min(max(u4 + (q4 - k_up) * dt, 0.0), cap_up)
        u5 = min(max(u5 + (q5 - k_up) * dt, 0.0), cap_up)
        u6 = min(max(u6 + (q6 - k_up) * dt, 0.0), cap_up)
        u7 = min(max(u7 + (q7 - k_up) * dt, 0.0), cap_up)
        d0 = min(max(d0 - (q0 + k_dn) * dt, 0.0), cap_dn)
        d1 = min(max(d1 - (q1 + k_dn) * dt, 0.0), cap_dn)
        d2 = min(max(d2 - (q2 + k_dn) * dt, 0.0), cap_dn)
        d3 = min(max(d3 - (q3 + k_dn) * dt, 0.0), cap_dn)
        d4 = min(max(d4 - (q4 + k_dn) * dt, 0.0), cap_dn)
        d5 = min(max(d5 - (q5 + k_dn) * dt, 0.0), cap_dn)
        d6 = min(max(d6 - (q6 + k_dn) * dt, 0.0), cap_dn)
        d7 = min(max(d7 - (q7 + k_dn) * dt, 0.0), cap_dn)
        g0 = max(min(max((u0 - h_up) * w_up, 0.0), 1.0), min(max((d0 - h_dn) * w_dn, 0.0), 1.0))
        g1 = max(min(max((u1 - h_up) * w_up, 0.0), 1.0), min(max((d1 - h_dn) * w_dn, 0.0), 1.0))
        g2 = max(min(max((u2 - h_up) * w_up, 0.0), 1.0), min(max((d2 - h_dn) * w_dn, 0.0), 1.0))
        g3 = max(min(max((u3 - h_up) * w_up, 0.0), 1.0), min(max((d3 - h_dn) * w_dn, 0.0), 1.0))
        g4 = max(min(max((u4 - h_up) * w_up, 0.0), 1.0), min(max((d4 - h_dn) * w_dn, 0.0), 1.0))
        g5 = max(min(max((u5 - h_up) * w_up, 0.0), 1.0), min(max((d5 - h_dn) * w_dn, 0.0), 1.0))
        g6 = max(min(max((u6 - h_up) * w_up, 0.0), 1.0), min(max((d6 - h_dn) * w_dn, 0.0), 1.0))
        g7 = max(min(max((u7 - h_up) * w_up, 0.0), 1.0), min(max((d7 - h_dn) * w_dn, 0.0), 1.0))
        a0 = max(a0 / (1.0 + a0 * ik), a_slow, a_fast * g0)
        a1 = max(a1 / (1.0 + a1 * ik), a_slow, a_fast * g1)
        a2 = max(a2 / (1.0 + a2 * ik), a_slow, a_fast * g2)
        a3 = max(a3 / (1.0 + a3 * ik), a_slow, a_fast * g3)
        a4 = max(a4 / (1.0 + a4 * ik), a_slow, a_fast * g4)
        a5 = max(a5 / (1.0 + a5 * ik), a_slow, a_fast * g5)
        a6 = max(a6 / (1.0 + a6 * ik), a_slow, a_fast * g6)
        a7 = max(a7 / (1.0 + a7 * ik), a_slow, a_fast * g7)
        n0 = n0 + a0 * (f0 - n0)
        n1 = n1 + a1 * (f1 - n1)
        n2 = n2 + a2 * (f2 - n2)
        n3 = n3 + a3 * (f3 - n3)
        n4 = n4 + a4 * (f4 - n4)
        n5 = n5 + a5 * (f5 - n5)
        n6 = n6 + a6 * (f6 - n6)
        n7 = n7 + a7 * (f7 - n7)
        r0 = r0 + a0 * (n0 - r0)
        r1 = r1 + a1 * (n1 - r1)
        r2 = r2 + a2 * (n2 - r2)
        r3 = r3 + a3 * (n3 - r3)
        r4 = r4 + a4 * (n4 - r4)
        r5 = r5 + a5 * (n5 - r5)
        r6 = r6 + a6 * (n6 - r6)
        r7 = r7 + a7 * (n7 - r7)
        p0 = (f0 - o0) / (max(f0, o0) + eps)
        p1 = (f1 - o1) / (max(f1, o1) + eps)
        p2 = (f2 - o2) / (max(f2, o2) + eps)
        p3 = (f3 - o3) / (max(f3, o3) + eps)
        p4 = (f4 - o4) / (max(f4, o4) + eps)
        p5 = (f5 - o5) / (max(f5, o5) + eps)
        p6 = (f6 - o6) / (max(f6, o6) + eps)
        p7 = (f7 - o7) / (max(f7, o7) + eps)
        z0 = z0 + a_z * (p0 - z0)
        z1 = z1 + a_z * (p1 - z1)
        z2 = z2 + a_z * (p2 - z2)
        z3 = z3 + a_z * (p3 - z3)
        z4 = z4 + a_z * (p4 - z4)
        z5 = z5 + a_z * (p5 - z5)
        z6 = z6 + a_z * (p6 - z6)
        z7 = z7 + a_z * (p7 - z7)
        b0 = max(a0, a_slow + da_mid * min(max((abs(z0) - zt0) * inv_dz, 0.0), 1.0))
        b1 = max(a1, a_slow + da_mid * min(max((abs(z1) - zt0) * inv_dz, 0.0), 1.0))
        b2 = max(a2, a_slow + da_mid * min(max((abs(z2) - zt0) * inv_dz, 0.0), 1.0))
        b3 = max(a3, a_slow + da_mid * min(max((abs(z3) - zt0) * inv_dz, 0.0), 1.0))
        b4 = max(a4, a_slow + da_mid * min(max((abs(z4) - zt0) * inv_dz, 0.0), 1.0))
        b5 = max(a5, a_slow + da_mid * min(max((abs(z5) - zt0) * inv_dz, 0.0), 1.0))
        b6 = max(a6, a_slow + da_mid * min(max((abs(z6) - zt0) * inv_dz, 0.0), 1.0))
        b7 = max(a7, a_slow + da_mid * min(max((abs(z7) - zt0) * inv_dz, 0.0), 1.0))
        m0 = m0 + b0 * (f0 - m0)
        m1 = m1 + b1 * (f1 - m1)
        m2 = m2 + b2 * (f2 - m2)
        m3 = m3 + b3 * (f3 - m3)
        m4 = m4 + b4 * (f4 - m4)
        m5 = m5 + b5 * (f5 - m5)
        m6 = m6 + b6 * (f6 - m6)
        m7 = m7 + b7 * (f7 - m7)
        o0 = o0 + b0 * (m0 - o0)
        o1 = o1 + b1 * (m1 - o1)
        o2 = o2 + b2 * (m2 - o2)
        o3 = o3 + b3 * (m3 - o3)
        o4 = o4 + b4 * (m4 - o4)
        o5 = o5 + b5 * (m5 - o5)
        o6 = o6 + b6 * (m6 - o6)
        o7 = o7 + b7 * (m7 - o7)
        buf[t, 0] = o0
        buf[t, 1] = o1
        buf[t, 2] = o2
        buf[t, 3] = o3
        buf[t, 4] = o4
        buf[t, 5] = o5
        buf[t, 6] = o6
        buf[t, 7] = o7
    st[vm + U0] = m0
    st[vm + U1] = m1
    st[vm + U2] = m2
    st[vm + U3] = m3
    st[vm + U4] = m4
    st[vm + U5] = m5
    st[vm + U6] = m6
    st[vm + U7] = m7
    st[vo + U0] = o0
    st[vo + U1] = o1
    st[vo + U2] = o2
    st[vo + U3] = o3
    st[vo + U4] = o4
    st[vo + U5] = o5
    st[vo + U6] = o6
    st[vo + U7] = o7
    st[va + U0] = a0
    st[va + U1] = a1
    st[va + U2] = a2
    st[va + U3] = a3
    st[va + U4] = a4
    st[va + U5] = a5
    st[va + U6] = a6
    st[va + U7] = a7
    st[vu + U0] = u0
    st[vu + U1] = u1
    st[vu + U2] = u2
    st[vu + U3] = u3
    st[vu + U4] = u4
    st[vu + U5] = u5
    st[vu + U6] = u6
    st[vu + U7] = u7
    st[vd + U0] = d0
    st[vd + U1] = d1
    st[vd + U2] = d2
    st[vd + U3] = d3
    st[vd + U4] = d4
    st[vd + U5] = d5
    st[vd + U6] = d6
    st[vd + U7] = d7
    st[vn + U0] = n0
    st[vn + U1] = n1
    st[vn + U2] = n2
    st[vn + U3] = n3
    st[vn + U4] = n4
    st[vn + U5] = n5
    st[vn + U6] = n6
    st[vn + U7] = n7
    st[vr + U0] = r0
    st[vr + U1] = r1
    st[vr + U2] = r2
    st[vr + U3] = r3
    st[vr + U4] = r4
    st[vr + U5] = r5
    st[vr + U6] = r6
    st[vr + U7] = r7
    st[vz + U0] = z0
    st[vz + U1] = z1
    st[vz + U2] = z2
    st[vz + U3] = z3
    st[vz + U4] = z4
    st[vz + U5] = z5
    st[vz + U6] = z6
    st[vz + U7] = z7


@njit(cache=True)
def _row_clean(x, c, t0, nt):
    """True when samples ``t0 .. t0+nt-1`` of row ``c`` of ``x`` are all finite and below MAX_ABS_UV."""
    n_bad = 0
    uc = np.uint64(c)
    ut0 = np.uint64(t0)
    for ut in range(np.uint64(nt)):
        n_bad += not abs(x[uc, ut0 + ut]) < MAX_ABS_UV
    return n_bad == 0


@njit(cache=True)
def _gather8(x, buf, c0, t0, nt):
    """Rows ``c0 .. c0+7``, samples ``t0 .. t0+nt-1`` of ``x`` into the tile ``buf`` (nt, 8), sample by
    sample (eight loads, one vector store per sample: faster than eight strided passes). Returns True when
    every copied sample is finite and below MAX_ABS_UV (else the caller redoes the tile the slow way)."""
    r0 = x[c0]
    r1 = x[c0 + 1]
    r2 = x[c0 + 2]
    r3 = x[c0 + 3]
    r4 = x[c0 + 4]
    r5 = x[c0 + 5]
    r6 = x[c0 + 6]
    r7 = x[c0 + 7]
    ut0 = np.uint64(t0)
    n_bad = 0
    for ut in range(np.uint64(nt)):
        u = ut0 + ut
        v0 = r0[u]
        v1 = r1[u]
        v2 = r2[u]
        v3 = r3[u]
        v4 = r4[u]
        v5 = r5[u]
        v6 = r6[u]
        v7 = r7[u]
        buf[ut, U0] = v0
        buf[ut, U1] = v1
        buf[ut, U2] = v2
        buf[ut, U3] = v3
        buf[ut, U4] = v4
        buf[ut, U5] = v5
        buf[ut, U6] = v6
        buf[ut, U7] = v7
        # a sum of magnitudes is NaN/inf/>= MAX_ABS_UV whenever one sample is (false alarms only send the
        # tile down the exact slow path); max() could drop a NaN
        m = ((abs(v0) + abs(v1)) + (abs(v2) + abs(v3))) + ((abs(v4) + abs(v5)) + (abs(v6) + abs(v7)))
        n_bad += not m < MAX_ABS_UV
    return n_bad == 0


@njit(cache=True)
def _scatter8(out, buf, c0, t0, nt):
    """The tile ``buf`` (nt, 8) into rows ``c0 .. c0+7``, samples ``t0 .. t0+nt-1`` of ``out``."""
    r0 = out[c0]
    r1 = out[c0 + 1]
    r2 = out[c0 + 2]
    r3 = out[c0 + 3]
    r4 = out[c0 + 4]
    r5 = out[c0 + 5]
    r6 = out[c0 + 6]
    r7 = out[c0 + 7]
    ut0 = np.uint64(t0)
    for ut in range(np.uint64(nt)):
        u = ut0 + ut
        r0[u] = buf[ut, U0]
        r1[u] = buf[ut, U1]
        r2[u] = buf[ut, U2]
        r3[u] = buf[ut, U3]
        r4[u] = buf[ut, U4]
        r5[u] = buf[ut, U5]
        r6[u] = buf[ut, U6]
        r7[u] = buf[ut, U7]


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
    full = c0 + BLOCK <= n_ch
    t0 = 0
    while t0 < n:
        nt = min(TILE, n - t0)
        # 1. gather into the tile, hold non-finite samples, note the first finite sample of new channels.
        # Fast path: all 8 channels real, started and clean in a tile of >= 64 samples -> one
        # sample-major copy (on short streaming chunks the per-channel copy below is quicker).
        fast = full and nt >= 64
        if fast:
            for j in range(BLOCK):
                if not st[a_started + j] > 0.0:
                    fast = False
                    break
        if fast:
            fast = _gather8(x, buf, c0, t0, nt)
        if fast:
            for j in range(BLOCK):
                st[ws + j] = -1.0
                st[a_last + j] = buf[nt - 1, j]
        for j in range(BLOCK if not fast else 0):
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
        # full block + linear envelope: filtered rows, envelope and envelope rows in one pass
        fused = full and want_e and env_code == ENV_LINEAR and n_esec == 1
        if fused:
            _lowpass_rect_out(buf, nt, co, o_esos, st, o_ze + c0, cp, out_f, want_f, out_e, c0, t0)
        elif want_f and full:
            _scatter8(out_f, buf, c0, t0, nt)
        elif want_f:
            for j in range(BLOCK):
                c = c0 + j
                if c < n_ch:
                    uc = np.uint64(c)
                    uj = np.uint64(j)
                    ut0 = np.uint64(t0)
                    for ut in range(np.uint64(nt)):
                        out_f[uc, ut0 + ut] = buf[ut, uj]
        # 3. envelope, in place in the tile
        if want_e and not fused:
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
                # common corner opens from slow to fast when a CUSUM test on the pre-envelope/output
                # innovation declares a change of level (an adaptive low-pass in the "1 euro" style).
                if n_esec == 1:
                    _lowpass_rect(buf, nt, co, o_esos, st, o_ze + c0, cp, False)
                else:
                    for t in range(nt):
                        for j in range(BLOCK):
                            buf[t, j] = abs(buf[t, j])
                    _cascade(buf, 0, nt, co, o_esos, n_esec, st, o_ze, cp, c0)
                _adaptive(buf, nt, st, o_aux, cp, c0, co, o_par)
            if full:
                _scatter8(out_e, buf, c0, t0, nt)
            for j in range(BLOCK if not full else 0):
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


@njit(cache=True)
def _quality(x, flags, q, o):
    """Per-sample quality flags of ``x`` (C, n) into ``flags`` (C, n); parameters and state in ``q`` from ``o``."""
    n_ch = x.shape[0]
    n = x.shape[1]
    rail = q[o + Q_RAIL]
    flat_step = q[o + Q_FLAT_STEP]
    flat_n = np.int64(q[o + Q_FLAT_N])
    spike_uv = q[o + Q_SPIKE_UV]
    spike_hold = np.int64(q[o + Q_SPIKE_HOLD])
    lead_n = np.int64(q[o + Q_LEAD_N])
    o_last = o + NQPAR + QS_LAST * n_ch
    o_fr = o + NQPAR + QS_FLAT_RUN * n_ch
    o_br = o + NQPAR + QS_BAD_RUN * n_ch
    o_sl = o + NQPAR + QS_SPIKE_LEFT * n_ch
    if n == 0:
        return
    un = np.uint64(n)
    u1 = np.uint64(1)
    # fast path for the whole chunk (the common case), same result as the per-sample rules below: every
    # sample finite and off the rail, every step (from the last sample of the previous chunk on) above
    # flat_step and at most spike_uv -> no flag but a running spike hold, runs reset. One pass over the
    # flat (C * n) array; the steps it takes across row ends are replaced by the steps from ``last``.
    xf = x.reshape(n_ch * n)
    n_bad = 0
    for ui in range(np.uint64(n_ch * n)):
        n_bad += not abs(xf[ui]) < rail
    for ui in range(u1, np.uint64(n_ch * n)):
        d = abs(xf[ui] - xf[ui - u1])
        n_bad += not ((d > flat_step) & (d <= spike_uv))
    ul = np.uint64(o_last)
    for uc in range(np.uint64(n_ch)):
        r0 = uc * un  # the row's first sample in xf
        if uc > 0:
            d = abs(xf[r0] - xf[r0 - u1])
            n_bad -= not ((d > flat_step) & (d <= spike_uv))
        d = abs(xf[r0] - q[ul + uc])  # NaN on the first sample ever: slow path
        n_bad += not ((d > flat_step) & (d <= spike_uv))
    if n_bad == 0:
        flags.reshape(n_ch * n)[:] = 0
        for c in range(n_ch):
            sl = np.int64(q[o_sl + c])
            for t in range(min(max(sl, 0), n)):
                flags[c, t] = F_SPIKE
            q[o_last + c] = x[c, n - 1]
            q[o_fr + c] = 0.0
            q[o_br + c] = 0.0
            q[o_sl + c] = max(sl - n, 0)
        return
    for c in range(n_ch):
        prev = q[o_last + c]
        sl = np.int64(q[o_sl + c])
        # fast path, same result: every sample finite and off the rail and every step (from the last sample
        # of the previous chunk on) above flat_step and at most spike_uv -> only a running spike hold shows
        xr = x[c]
        d = abs(xr[0] - prev)  # NaN on the first sample ever: slow path
        n_bad = 0 if (d > flat_step) & (d <= spike_uv) else 1
        for ut in range(un):
            n_bad += not abs(xr[ut]) < rail
        for ut in range(u1, un):
            d = abs(xr[ut] - xr[ut - u1])
            n_bad += not ((d > flat_step) & (d <= spike_uv))
        if n_bad == 0:
            fl = flags[c]
            n_spike = np.uint64(min(max(sl, 0), n))
            for ut in range(n_spike):
                fl[ut] = F_SPIKE
            for ut in range(n_spike, un):
                fl[ut] = 0
            q[o_last + c] = xr[n - 1]
            q[o_fr + c] = 0.0
            q[o_br + c] = 0.0
            q[o_sl + c] = max(sl - n, 0)
            continue
        fr = np.int64(q[o_fr + c])
        br = np.int64(q[o_br + c])
        for t in range(n):
            v = x[c, t]
            f = 0
            if not np.isfinite(v):
                f |= F_NAN
                br += 1
            else:
                railed = abs(v) >= rail
                if railed:
                    f |= F_RAILED
                if np.isfinite(prev):
                    d = abs(v - prev)
                    if d <= flat_step:
                        fr += 1
                    else:
                        fr = 0
                    if d > spike_uv and not railed:
                        sl = spike_hold
                if fr >= flat_n:
                    f |= F_FLAT
                if railed or fr >= flat_n:
                    br += 1
                else:
                    br = 0
                prev = v
            if sl > 0:
                f |= F_SPIKE
                sl -= 1
            if br >= lead_n:
                f |= F_LEAD_OFF
            flags[c, t] = f
        q[o_last + c] = prev
        q[o_fr + c] = fr
        q[o_br + c] = br
        q[o_sl + c] = sl


@njit(_QUALITY_SIG, cache=True)
def quality_flags(x, flags, q):
    """Quality flags (see ``F_*``) of ``x`` (C, n) into ``flags`` (C, n) uint8, every element written;
    state kept in ``q`` (``Q_*``, ``QS_*`` layout). Returns 0, or -1 on a wrong channel count or flag shape
    (nothing is changed then)."""
    if (
        q.shape[0] != NQPAR + NQS * x.shape[0]
        or x.shape[0] != np.int64(q[Q_N_CH])
        or flags.shape[0] != x.shape[0]
        or flags.shape[1] != x.shape[1]
    ):
        return -1
    _quality(x, flags, q, 0)
    return 0


@njit(_LIVE_SIG, cache=True)
def run_live(buf, ist, pct, x, out_e, flags):
    """One streaming step in one call: ``x`` (C, n) through the chain into ``out_e`` (C, n) (the envelope, or
    % of reference when ``pct`` is 1) and, unless ``flags`` is (0, 0), its quality flags into ``flags`` (C, n)
    uint8 (as :func:`quality_flags`, from the monitor parameters and state ``q`` in ``buf``). ``buf`` holds the
    tiles, coefficients, state and ``q`` at the ``I_B_*`` offsets of ``ist`` (few arguments: each costs time
    per call). Returns 0, or -1 on a wrong channel count or output shape, or flags without a monitor
    (nothing is changed then)."""
    n_ch = x.shape[0]
    n = x.shape[1]
    if n_ch != ist[I_N_CH] or out_e.shape[0] != n_ch or out_e.shape[1] != n:
        return -1
    want_q = flags.shape[0] != 0 or flags.shape[1] != 0
    oq = ist[I_B_X]
    if want_q and (
        flags.shape[0] != n_ch
        or flags.shape[1] != n
        or ist[I_N_X] != NQPAR + NQS * n_ch
        or np.int64(buf[oq + Q_N_CH]) != n_ch
    ):
        return -1
    n_blocks = ist[I_CP] // BLOCK
    wk = buf[ist[I_B_WK] : ist[I_B_WK] + n_blocks * TILE * BLOCK].reshape((n_blocks, TILE, BLOCK))
    no_filtered = buf[:0].reshape((0, 0))  # (0, 0): filtered output not wanted (a view: no allocation)
    run_range(x, no_filtered, out_e, buf, buf, ist, wk, 0, n_blocks)  # coefficients and state live in buf
    finish(x, out_e, buf, ist)
    if pct == 1 and ist[I_PCT] == 0:
        _percent(out_e, buf, ist)
    if want_q:
        _quality(x, flags, buf, oq)
    return 0


numba.config.SLP_VECTORIZE = _SLP_BEFORE
