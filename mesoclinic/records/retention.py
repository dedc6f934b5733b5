"""Retention rules for erasure requests: pure functions (no Django, no clock)."""
