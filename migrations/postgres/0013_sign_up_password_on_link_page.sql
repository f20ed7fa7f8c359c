-- A sign-up link no longer carries a password: the link's page asks for it, so only whoever
-- reads the mail chooses it (nobody can register another person's address with a password
-- of their own). Links already mailed keep working; their page asks for a password too.
-- Dropping the column drops the CHECK that names it.
ALTER TABLE account_links DROP COLUMN password_hash;

-- Failed password checks delay the next try progressively instead of locking for a fixed
-- window: each key keeps its count, its last failure, and when it may try next. The old
-- windows are only minutes of state, so they are dropped rather than converted.
DROP TABLE sign_in_failures;
CREATE TABLE sign_in_failures (
    key             TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failed_at  BIGINT NOT NULL,
    not_before      BIGINT NOT NULL
);
