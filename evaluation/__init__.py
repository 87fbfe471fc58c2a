"""Held-out metrics and the pictures administrators read."""
