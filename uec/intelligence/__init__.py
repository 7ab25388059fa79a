"""System intelligence: the outcome log, dashboard figures, the coverage map and what-if scenarios."""
