"""Secrets Manager rotation function for the single-user PostgreSQL secret."""
