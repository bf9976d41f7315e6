"""Deterministic demo data for a gift-card store: a catalog and shopper histories.

The data is drawn from latent shopper tastes, so a recommender trained on it
has real signal to find; `generator.write_files` produces the files the
built-in recommender reads (`catalog.jsonl`, `interactions.csv`). `traffic`
simulates two weeks of experiment traffic through the storefront's own assignment,
for the running experiments `experiments` starts.
"""
