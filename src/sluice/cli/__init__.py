"""Sluice cli layer."""
