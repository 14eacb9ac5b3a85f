"""The command line itself: help, version, unknown commands."""

import subprocess
import sys

from emg.cli import main


def test_help_lists_subcommands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: emg" in out


def test_python_dash_m_runs():
    proc = subprocess.run([sys.executable, "-m", "emg", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.startswith("emg ")
