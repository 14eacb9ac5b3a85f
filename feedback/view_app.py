"""The Qt application for the view: one QApplication (offscreen when headless), whether a window can be
shown, Qt's messages routed to logging, and a non-blocking event pump."""

from __future__ import annotations

import logging

from PySide6 import QtCore, QtWidgets


def display_available() -> bool:
    """True when a window can be shown: a DISPLAY or WAYLAND_DISPLAY and no offscreen platform forced."""
    import os

    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def ensure_app(headless: bool) -> QtWidgets.QApplication:
    """The QApplication (created once); ``headless`` renders offscreen (no window system needed)."""
    import os

    app = QtWidgets.QApplication.instance()
    if app is None:
        if headless:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        QtCore.qInstallMessageHandler(_qt_message)
        app = QtWidgets.QApplication(["emg"])
    return app


#: Qt messages that say nothing to a user (the offscreen platform cannot resize windows to hints)
_QUIET_QT = ("does not support propagateSizeHints", "does not support raise()", "does not support activateWindow")


def _qt_message(mode: QtCore.QtMsgType, context: QtCore.QMessageLogContext, message: str) -> None:
    if any(q in message for q in _QUIET_QT):
        return
    level = {
        QtCore.QtMsgType.QtDebugMsg: logging.DEBUG,
        QtCore.QtMsgType.QtInfoMsg: logging.INFO,
        QtCore.QtMsgType.QtWarningMsg: logging.WARNING,
    }.get(mode, logging.ERROR)
    logging.getLogger("qt").log(level, "%s", message)


def process_events() -> None:
    """Deliver pending window-system events (keys, close, resize) without blocking."""
    QtWidgets.QApplication.processEvents()
