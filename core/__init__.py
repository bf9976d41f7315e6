"""Shared foundations: settings, database, errors, auth, cache."""
