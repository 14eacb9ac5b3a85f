"""recordings: what is kept. The in-memory :class:`~emg.recordings.recording.Recording`, the crash-safe
writer (BrainFlow text + JSON sidecar, the only writer of a sidecar), readers for every supported
format, calibration files, and the checks every derived output passes before it is written."""
