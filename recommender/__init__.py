"""The built-in reference recommender: a small, honest model of gift-card shoppers.

It reads a catalog (`catalog.jsonl`) and an event log (`interactions.csv`),
trains popularity, trend, item-item and co-purchase signals plus per-shopper
histories (`model`), answers strategy requests fast (`engine`), measures itself
on a time split (`evaluate`) and serves over HTTP (`service`). It runs as its
own service or in-process; it imports nothing else from Tessera.
"""
