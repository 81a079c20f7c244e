"""Secrets Manager rotation function for the origin-verify value (CloudFront + regional WAFs)."""
