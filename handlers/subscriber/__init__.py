"""SQS subscriber: applies queued `POST /users` messages to PostgreSQL idempotently."""
