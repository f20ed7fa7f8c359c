-- Admins' and sellers' second factor: an authenticator app's secret (RFC 6238), its
-- single-use recovery codes, and the step between a right password and the code.
--
-- The secret is kept as its base32 text: the server must compute codes from it, so it cannot
-- be hashed (a reader of this table could mint codes; see docs/ARCHITECTURE.md). A row with
-- no `enabled_at` is an enrolment that has not yet been confirmed by a code: it protects
-- nothing and may be replaced. `last_step` is the last time step whose code was accepted,
-- so no code is accepted twice.
CREATE TABLE second_factors (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    enabled_at  INTEGER,
    last_step   INTEGER
);

-- Recovery codes: 80 random bits each, shown once; only their SHA-256 is kept.
CREATE TABLE recovery_codes (
    code_hash   TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- A right password for an account with a second factor: a 256-bit token (only its SHA-256
-- kept, like a session's) that the code must come with, for a few minutes.
CREATE TABLE sign_in_steps (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sign_in_steps_expiry ON sign_in_steps (expires_at);
