"""acquire: where samples come from. Board presets, sample sources (BrainFlow, LSL), the acquisition
pump that records every row as it arrives, serial-port discovery, the virtual Cyton on a
pseudo-terminal, LSL in and out, and BrainFlow's native log routed to Python logging."""
