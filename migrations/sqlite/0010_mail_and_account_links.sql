-- Mail the shop sends (sign-up confirmations, password resets), and the single-use links in it.

-- A durable outbox: a request queues a message in the database and a worker delivers it, so
-- a slow or failing mail relay never holds up a page, and a crash loses nothing.
CREATE TABLE mail_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    -- When the next delivery attempt may start; a worker that takes the row pushes it ahead
    -- by its lease, so two nodes never send the same message at once.
    next_attempt_at  INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    sent_at          INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient, created_at);

-- Links mailed to finish a sign-up or reset a password. Only the token's SHA-256 is kept.
-- A sign-up link carries the pending account (its password already hashed): the account
-- exists only once its address has proved it receives mail.
CREATE TABLE account_links (
    token_hash     TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('sign_up', 'reset')),
    email          TEXT NOT NULL,
    user_id        INTEGER REFERENCES users (id) ON DELETE CASCADE,
    password_hash  TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    CHECK ((kind = 'reset') = (user_id IS NOT NULL)),
    CHECK ((kind = 'sign_up') = (password_hash IS NOT NULL))
);
CREATE INDEX account_links_expiry ON account_links (expires_at);
CREATE INDEX account_links_user ON account_links (user_id);
