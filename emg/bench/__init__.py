"""bench: every benchmark, run by ``emg bench``. Each prints its figures next to a reference measured in
the same run (scipy, BrainFlow, pyedflib, or a budget), so the ratios hold on a loaded machine."""
