"""Cognito user-migration trigger (sign-in and forgot-password)."""
