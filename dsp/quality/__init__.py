"""Signal quality: per-sample flags for the live chain (:mod:`~dsp.quality.flags`) and the batch
assessment of a recording per channel (:mod:`~dsp.quality.assessment`), one implementation for both
the live session and the offline analysis."""

from dsp.quality.assessment import assess_quality
from dsp.quality.flags import QualityFlag, QualityMonitor, describe_flags

__all__ = ["QualityFlag", "QualityMonitor", "assess_quality", "describe_flags"]
