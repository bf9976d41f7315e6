"""Experiments: deterministic assignment (GrowthBook-compatible), events and analysis."""
