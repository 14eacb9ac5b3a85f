"""Can a window be opened here? Checked before Qt is imported, which aborts the whole process when its
platform plugin cannot load."""

from __future__ import annotations

import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)


def display_problem() -> str | None:
    """Why no window can be opened here (None when one can)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith("offscreen"):
        return "QT_QPA_PLATFORM=offscreen"
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display: DISPLAY and WAYLAND_DISPLAY are unset"
    if (
        sys.platform.startswith("linux")
        and os.environ.get("DISPLAY")
        and platform in ("", "xcb")
        and not os.environ.get("WAYLAND_DISPLAY")
        and ctypes.util.find_library("xcb-cursor") is None
    ):
        return "Qt's X11 plugin needs libxcb-cursor0 (install it: apt-get install libxcb-cursor0)"
    return None


def headless_needed(asked: bool = False) -> bool:
    """True when the session must render offscreen: asked for, no usable display, or offscreen forced."""
    if asked:
        return True
    problem = display_problem()
    if problem:
        log.info("rendering offscreen: %s", problem)
    return problem is not None
