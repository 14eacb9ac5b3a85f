"""Shared test set-up: headless Qt, a writable Numba cache, loopback-only LSL, real data paths."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("EMG_REALDATA", REPO.parent / "shared" / "realdata"))

# liblsl must never broadcast or multicast off this machine: write the loopback-only
# configuration and name it before anything imports pylsl.
_LSL_CFG = Path(tempfile.gettempdir()) / "emg-tests-lsl.cfg"
_LSL_CFG.write_text(
    "[ports]\nIPv6 = disable\n"
    "[multicast]\nResolveScope = machine\nMachineAddresses = {127.0.0.1}\n"
    "[lab]\nKnownPeers = {127.0.0.1}\n"
)
os.environ["LSLAPICFG"] = str(_LSL_CFG)


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The folder of real public recordings beside the project; skip where it is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real recordings not found at {REALDATA} (they live beside the project in ../shared/realdata)")
    return REALDATA


@pytest.fixture(scope="session")
def headless_demo(tmp_path_factory: pytest.TempPathFactory):
    """One real `emg demo --headless` run (virtual Cyton, simulated patient, calibration then the 3-rep demo
    drill; about 30 s in real time), shared by the tests that read its outputs (they must not change them).
    Returns ``(exit_code, printed_text, out_dir)``."""
    import contextlib
    import io

    pytest.importorskip("PySide6")
    from emg.cli import main

    out = tmp_path_factory.mktemp("headless_demo") / "demo"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["demo", "--headless", "--out", str(out)])
    return code, printed.getvalue(), out
