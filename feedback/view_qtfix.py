"""Guard against a PySide6 reference-count bug that aborts long-running views on Python 3.11.

Measured here with PySide6 6.12.0 on CPython 3.11: every ``Signal.emit()`` returns ``True`` without
taking a reference, so each emit lowers ``True``'s reference count by one. pyqtgraph emits a signal on
every ``PlotCurveItem.setData``, so after some thousands of frames CPython aborts with
``Fatal Python error: bool_dealloc``. Python 3.12+ makes ``True``/``False`` immortal, which hides it.

:func:`guard_bool_refcounts` probes for the bug (emits a throwaway signal and watches the count)
and, only where it is present, gives ``True``, ``False`` and ``None`` a very large reference count, which is
what Python 3.12 does for them anyway (``None`` too: other PySide6 paths return it unreferenced). They are never
freed, so this changes nothing else.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_GUARDED = False
_EXTRA_REFS = 1 << 40


def signal_emit_leaks_bool() -> bool:
    """True when emitting a Qt signal lowers ``True``'s reference count (the PySide6 bug)."""
    if sys.version_info >= (3, 12):
        return False
    from PySide6 import QtCore

    class _Probe(QtCore.QObject):
        fired = QtCore.Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(16):
        probe.fired.emit()
    after = sys.getrefcount(True)
    # give back what the probe took, so probing itself never brings the abort closer
    lost = before - after
    if lost > 0:
        for obj in (True,):
            ctypes.c_ssize_t.from_address(id(obj)).value += lost
    return lost >= 16


def guard_bool_refcounts() -> bool:
    """Apply the guard once if the running PySide6 has the bug; return whether it is applied."""
    global _GUARDED
    if _GUARDED:
        return True
    if not signal_emit_leaks_bool():
        return False
    for obj in (True, False, None):
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA_REFS
    _GUARDED = True
    import PySide6

    log.info(
        "PySide6 %s leaks a reference to True on every signal emit on Python %d.%d; "
        "True/False made immortal (as in Python 3.12) to keep the view alive",
        PySide6.__version__,
        *sys.version_info[:2],
    )
    return True
