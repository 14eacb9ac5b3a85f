"""Units a recording's EMG samples may come in, and the factor that turns each into microvolts."""

from __future__ import annotations

#: Unit names (lower case) -> factor to microvolts; used by the readers (file headers, ``--units``) and by the
#: LSL input (a stream's declared channel unit).
UNIT_TO_UV: dict[str, float] = {
    "uv": 1.0,
    "µv": 1.0,
    "μv": 1.0,
    "microvolt": 1.0,
    "microvolts": 1.0,
    "mv": 1e3,
    "millivolt": 1e3,
    "millivolts": 1e3,
    "v": 1e6,
    "volt": 1e6,
    "volts": 1e6,
    "nv": 1e-3,
    "nanovolt": 1e-3,
    "nanovolts": 1e-3,
}
