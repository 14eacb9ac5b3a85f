"""live: one biofeedback session as it happens. The session loop (acquisition -> live chain -> drill ->
view, everything recorded), display detection, latency measurement, and the simulated-patient demo."""
