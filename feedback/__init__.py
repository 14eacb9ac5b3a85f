"""feedback: drills, targets and scoring as plain logic (no Qt), plus the pyqtgraph view.

- :mod:`feedback.drills`: ``load_drill``, ``make_drill``, ``find_drill``, the shipped TOML drills;
- :mod:`feedback.drill_config`: the TOML schema and its validation (errors name field and line);
- the drill state machines: :mod:`~feedback.reach_hold`, :mod:`~feedback.isolation`,
  :mod:`~feedback.symmetry`, :mod:`~feedback.downtrain` (on :mod:`~feedback.hold_reps`),
  :mod:`~feedback.tracking`, :mod:`~feedback.stretch`, :mod:`~feedback.balance` (on
  :mod:`~feedback.timed_trials`), :mod:`~feedback.awareness`; shared parts in
  :mod:`~feedback.drill_base`, :mod:`~feedback.gating`, :mod:`~feedback.shaping`;
- :mod:`feedback.state` (``Cue``, ``DrillState``), :mod:`feedback.events` (``DrillEvent``, labels);
- :mod:`feedback.calibration_flow`, :mod:`feedback.calibration_store`, :mod:`feedback.replay`;
- :mod:`feedback.view` and friends (the only modules that import Qt).
"""
