"""Lookups: batched reads of key-value tables for stream-table joins."""
