"""Errors raised by the signal core (no dependency on :mod:`emg`)."""


class SignalError(ValueError):
    """Input the signal core cannot process honestly (wrong shape, rate too low, ...).

    ``str(err)`` is one line naming the problem and the fix.
    """
