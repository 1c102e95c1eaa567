"""Sluice runtime layer."""
