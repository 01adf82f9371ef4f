"""Adapters for access control: user directories and rate-limit storage."""
