"""Plain-Python library for the mobile backend: domain logic, models and data access.

Nothing in this package imports Lambda or Powertools event types; the thin entry points in
`handlers/` adapt events to these functions. Heavy imports (boto3, psycopg) happen inside the
functions that need them so that a cold start only pays for what the invoked function uses.
"""
