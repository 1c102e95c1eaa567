"""Sluice plugins layer."""
