"""Export recordings for the tools clinics and labs already use.

- :func:`emg.export.edf.write_edf`: EDF+ or BDF+ (pyedflib), microvolts, muscles in the channel
  labels, device and filters in the header, every recorded event as an annotation.
- :func:`emg.export.bids.export_bids`: a BIDS-EMG dataset (BEP042, BIDS 1.11): BDF+ data,
  ``_emg.json``, ``_channels.tsv``, ``_events.tsv``, ``dataset_description.json``, participants and
  scans tables; new sessions are added to an existing dataset without touching what is there.
- :func:`emg.export.source.load_for_export`: any readable recording (the project's own, OpenBCI GUI
  text, EDF/BDF, plain CSV), or a bare BrainFlow file with ``fs_hz`` and ``board`` when its sidecar
  is missing.
"""

from __future__ import annotations

from emg.export.bids import BidsResult, export_bids
from emg.export.edf import EdfResult, write_edf
from emg.export.source import load_for_export

__all__ = ["write_edf", "EdfResult", "export_bids", "BidsResult", "load_for_export"]
