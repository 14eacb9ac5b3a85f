"""Errors raised by the drill logic.

``feedback`` may not import :mod:`emg`, so its errors derive from :class:`dsp.errors.SignalError`,
which the command line already prints as one line without a traceback (exit code 2).
``str(err)`` is one line naming the problem and the fix.
"""

from __future__ import annotations

from dsp.errors import SignalError


class FeedbackError(SignalError):
    """A drill, calibration or estimate the drill logic cannot use."""


class DrillConfigError(FeedbackError):
    """A drill TOML file is missing, unreadable, or has a missing or wrong field (named, with its line)."""


class CalibrationMismatchError(FeedbackError):
    """A saved calibration was made on another board, channel layout or sampling rate."""
