-- A sign-up link no longer carries a password: the link's page asks for it, so only whoever
-- reads the mail chooses it (nobody can register another person's address with a password
-- of their own). Links already mailed keep working; their page asks for a password too.
-- SQLite cannot drop a column that a CHECK names, so the table is rebuilt.
CREATE TABLE account_links_new (
    token_hash     TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('sign_up', 'reset')),
    email          TEXT NOT NULL,
    user_id        INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    CHECK ((kind = 'reset') = (user_id IS NOT NULL))
);
INSERT INTO account_links_new (token_hash, kind, email, user_id, created_at, expires_at, used_at)
    SELECT token_hash, kind, email, user_id, created_at, expires_at, used_at FROM account_links;
DROP TABLE account_links;
ALTER TABLE account_links_new RENAME TO account_links;
CREATE INDEX account_links_expiry ON account_links (expires_at);
CREATE INDEX account_links_user ON account_links (user_id);

-- Failed password checks delay the next try progressively instead of locking for a fixed
-- window: each key keeps its count, its last failure, and when it may try next. The old
-- windows are only minutes of state, so they are dropped rather than converted.
DROP TABLE sign_in_failures;
CREATE TABLE sign_in_failures (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failed_at  INTEGER NOT NULL,
    not_before      INTEGER NOT NULL
);
