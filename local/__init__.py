"""Helpers that run the backend's dependencies on this machine (no AWS account needed)."""
