"""emg: boards, acquisition, recordings, sessions and the ``emg`` command line.

Signal maths lives in :mod:`dsp`; drills and the live view live in :mod:`feedback`.
"""

__version__ = "0.1.0"
