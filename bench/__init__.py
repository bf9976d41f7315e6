"""Benchmarks for Tessera's budgets (see DESIGN.md, "Budgets"), each run side by side with its baseline.

.venv/bin/python -m bench.resolve_bench      # or: make bench
"""
