"""Artefact gating: flagged samples never count toward success and never move a threshold.

The flags are the bits of :class:`dsp.quality.QualityFlag`, one uint8 per channel and sample.
:class:`ArtefactGate` reduces them over the
channels a drill uses to one word per sample, adds NAN for non-finite activation, and tracks
gated spells so the patient is told why the samples are not counting.
"""

from __future__ import annotations

import numpy as np

from dsp.quality.flags import QualityFlag
from feedback.drill_config import FLAG_BITS
from feedback.names import display_name

#: Bit -> what the patient or therapist reads, and what to do.
FLAG_MESSAGES = {
    int(QualityFlag.DROPPED): "data lost between board and computer: move the dongle closer",
    int(QualityFlag.LEAD_OFF): "electrode off on {ch}: press it back onto the skin",
    int(QualityFlag.RAILED): "signal saturated on {ch}: check the electrode and its lead",
    int(QualityFlag.SPIKE): "movement artefact on {ch}: keep the leads still",
    int(QualityFlag.FLAT): "no signal on {ch}: the lead may be unplugged",
    int(QualityFlag.NAN): "unusable samples on {ch}",
}
FLAG_NAMES = {bit: name for name, bit in FLAG_BITS.items()}
#: seconds a gating reason stays on screen after the last flagged sample, so a brief one is readable
MESSAGE_HOLD_S = 1.5


def flag_names(bits: int) -> list[str]:
    """Names of the set bits, e.g. ``9 -> ["railed", "spike"]``."""
    return [FLAG_NAMES[b] for b in sorted(FLAG_NAMES) if bits & b]


class ArtefactGate:
    """Per-sample gating over the drill's channels (0-based ``channels``) for the chosen flag names."""

    def __init__(
        self, flag_names_: tuple[str, ...] | list[str], channels: list[int], channel_names: list[str] | None = None
    ) -> None:
        self.mask = 0
        for name in flag_names_:
            self.mask |= FLAG_BITS[name]
        self.channels = list(channels)
        self.channel_names = list(channel_names) if channel_names else []
        self.active = False
        self.since_s: float | None = None
        self.gated_total_s = 0.0
        self.spells = 0
        self.message = ""
        self.last_message = ""  # kept on screen for MESSAGE_HOLD_S after the spell (a 1-sample drop-out too)
        self.last_gated_s: float | None = None

    def name(self, ch: int) -> str:
        """The raw channel name (as recorded in events)."""
        return self.channel_names[ch] if ch < len(self.channel_names) else f"channel {ch + 1}"

    def display(self, ch: int) -> str:
        """The channel name as the patient reads it (:func:`feedback.names.display_name`)."""
        return display_name(self.name(ch))

    def sample_bits(self, activation_pct: np.ndarray, flags: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """For a chunk, the gating word per sample ``(n,)`` and the per-channel words ``(k, n)``
        over the drill's channels (only the configured bits; NAN added for non-finite activation)."""
        sel = activation_pct[self.channels]
        per = np.zeros(sel.shape, dtype=np.uint8)
        if flags is not None:
            per |= np.asarray(flags)[self.channels].astype(np.uint8) & np.uint8(self.mask)
        per[~np.isfinite(sel)] |= np.uint8(FLAG_BITS["nan"])  # a non-finite level never counts
        return np.bitwise_or.reduce(per, axis=0) if per.shape[0] else np.zeros(sel.shape[1], np.uint8), per

    def describe(self, per_channel_bits: list[int]) -> str:
        """One line saying why samples are not counting, worst problem first."""
        parts = []
        for bit, text in FLAG_MESSAGES.items():
            chans = [self.display(ch) for ch, b in zip(self.channels, per_channel_bits, strict=False) if b & bit]
            if chans:
                part = text.format(ch=", ".join(chans))
                if part not in parts:
                    parts.append(part)
        return "Not counting: " + "; ".join(parts) if parts else ""

    def display_message(self, t_s: float) -> str:
        """What to tell the patient at ``t_s``: the current reason, or the last one for MESSAGE_HOLD_S after it."""
        if self.active:
            return self.message
        if self.last_gated_s is not None and t_s - self.last_gated_s < MESSAGE_HOLD_S:
            return self.last_message
        return ""

    def step(self, t_s: float, bits: int, per_channel_bits: list[int], dt_s: float) -> dict | None:
        """Advance one sample. Returns ``{"label": "artefact"|"artefact_end", "data": {...}}`` on a change."""
        if bits:
            self.gated_total_s += dt_s
            self.last_gated_s = t_s
            if not self.active:
                self.active, self.since_s, self.spells = True, t_s, self.spells + 1
                self.message = self.describe(per_channel_bits)
                self.last_message = self.message
                chans = [self.name(ch) for ch, b in zip(self.channels, per_channel_bits, strict=False) if b]
                return {
                    "label": "artefact",
                    "data": {"flags": flag_names(bits), "channels": chans, "message": self.message},
                }
            return None
        if self.active:
            self.active = False
            duration = t_s - (self.since_s if self.since_s is not None else t_s)
            self.message = ""
            return {"label": "artefact_end", "data": {"duration_s": round(duration, 6)}}
        return None
