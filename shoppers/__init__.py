"""Shopper profiles, privacy (opt-out and erasure), and the facts audiences read."""
