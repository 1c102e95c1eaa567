"""Sluice store layer."""
