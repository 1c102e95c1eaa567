"""Sluice model layer."""
