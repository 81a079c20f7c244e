"""Relays the api's SNS endpoint operations to another region's SNS (outside the VPC)."""
