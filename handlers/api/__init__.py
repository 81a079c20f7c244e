"""API Gateway REST function: every HTTP route of the mobile API."""
