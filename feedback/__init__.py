"""feedback: drills, targets and scoring as plain logic (no Qt), plus the pyqtgraph view."""
