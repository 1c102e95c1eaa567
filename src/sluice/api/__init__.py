"""Sluice api layer."""
