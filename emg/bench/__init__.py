"""bench: every benchmark, run by ``emg bench [NAME ...]`` (:mod:`emg.commands.bench`).

Each module has ``run_benchmark(**options) -> dict`` (the figures, JSON-ready) and ``summary(dict) -> str``
(the same for a person), and measures next to a reference in the same run (scipy, BrainFlow, pyedflib, real
time or a budget), so the ratios hold on a loaded machine:

- :mod:`~emg.bench.signal_core` (``signal``, the default): the Numba signal core, batch and the live chain;
- :mod:`~emg.bench.analysis`: offline analysis of a 1-hour recording;
- :mod:`~emg.bench.drills`: drill ``update`` cost per call;
- :mod:`~emg.bench.simulation`: simulated-patient generation and live reads;
- :mod:`~emg.bench.export`: BDF+/EDF+/BIDS export speed and LSL push cost and latency.
"""
