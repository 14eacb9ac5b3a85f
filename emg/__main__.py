"""``python -m emg`` runs the command line."""

from emg.cli import main

raise SystemExit(main())
