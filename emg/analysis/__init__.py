"""analysis: what a recording says. Activations, noise floor, quality, fatigue, co-contraction, per-rep
metrics and the drill replayed through the live chain (:mod:`~emg.analysis.analyze`), the HTML report
(:mod:`~emg.analysis.report`) and progress across sessions (:mod:`~emg.analysis.progress`)."""

from emg.analysis.analyze import (
    SCHEMA,
    Analysis,
    AnalysisSettings,
    analyze_file,
    analyze_many,
    analyze_recording,
    select_channels,
)

__all__ = [
    "SCHEMA",
    "Analysis",
    "AnalysisSettings",
    "analyze_file",
    "analyze_many",
    "analyze_recording",
    "select_channels",
]
