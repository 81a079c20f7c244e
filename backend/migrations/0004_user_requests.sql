-- An address is unique within one account's users, no longer across all accounts: a global
-- constraint let any account block another's address and, through 202-then-nothing, learn
-- that it is registered somewhere (docs/backend.md, "Uniqueness scope").
ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ADD CONSTRAINT users_owner_email_key UNIQUE (owner_sub, email);

-- The outcome of each POST /users, keyed by the message id the API answered with: what
-- GET /users/requests/{id} reads. No row yet means pending. Kept apart from the idempotency
-- ledger (processed_messages), which holds no personal data and outlives an erasure.
CREATE TABLE user_requests (
    id           uuid PRIMARY KEY,
    owner_sub    text NOT NULL,
    user_id      uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('created', 'rejected')),
    reason       text CHECK (reason IN ('email_taken', 'invalid')),
    requested_at timestamptz NOT NULL,
    decided_at   timestamptz NOT NULL,
    CONSTRAINT user_requests_rejection_has_reason CHECK ((status = 'rejected') = (reason IS NOT NULL))
);
CREATE INDEX user_requests_owner_idx ON user_requests (owner_sub, requested_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON user_requests TO app_rw;
