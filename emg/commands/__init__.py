"""One module per ``emg`` subcommand; each defines ``register(subparsers)``."""
