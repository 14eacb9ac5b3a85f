"""Errors the command line reports as one line (problem and fix), without a traceback."""


class EmgError(Exception):
    """A problem the user can fix. ``str(err)`` is one line naming the problem and the fix."""

    exit_code = 2


class BoardError(EmgError):
    """The board cannot be prepared, started, or stopped answering."""

    exit_code = 3


class RecordingError(EmgError):
    """A recording (or its sidecar) is missing, empty, truncated, foreign or inconsistent."""

    exit_code = 4


class ConfigError(EmgError):
    """A drill, preset, scenario, calibration or option is wrong."""

    exit_code = 2
