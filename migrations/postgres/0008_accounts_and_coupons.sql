-- Accounts, sessions, sign-in throttling and coupons.

-- One account per email (stored lowercased). A seller account is bound to exactly one seller.
CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    -- argon2id PHC string: the parameters travel with the hash.
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('shopper', 'seller', 'admin')),
    seller_id      BIGINT REFERENCES sellers (id),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CHECK ((role = 'seller') = (seller_id IS NOT NULL))
);

-- Signed-in sessions. The cookie holds a 256-bit random token; only its SHA-256 is kept, so
-- a copy of this table signs nobody in.
CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Failed sign-ins per account and per address, in fixed windows, shared by every node.
CREATE TABLE sign_in_failures (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL
);

ALTER TABLE carts ADD COLUMN user_id BIGINT REFERENCES users (id);
ALTER TABLE carts ADD COLUMN coupon_code TEXT;
CREATE INDEX carts_user ON carts (user_id);

ALTER TABLE orders ADD COLUMN user_id BIGINT REFERENCES users (id);
ALTER TABLE orders ADD COLUMN discount_amount BIGINT NOT NULL DEFAULT 0;
CREATE INDEX orders_user ON orders (user_id, created_at);

ALTER TABLE checkouts ADD COLUMN user_id BIGINT;
ALTER TABLE checkouts ADD COLUMN coupon_code TEXT;
ALTER TABLE checkouts ADD COLUMN discount_amount BIGINT NOT NULL DEFAULT 0;

-- Coupons. `redeemed` is counted in the same transaction that claims a checkout, by a
-- conditional UPDATE, so a burst of checkouts cannot redeem a coupon past its limit.
CREATE TABLE coupons (
    id                  BIGSERIAL PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('percent', 'amount')),
    -- Percent: 1..100. Amount: minor units of `currency`.
    value               BIGINT NOT NULL CHECK (value > 0),
    currency            TEXT NOT NULL,
    per_customer_limit  BIGINT CHECK (per_customer_limit > 0),
    total_limit         BIGINT CHECK (total_limit > 0),
    redeemed            BIGINT NOT NULL CHECK (redeemed >= 0),
    expires_at          BIGINT,
    disabled_at         BIGINT,
    created_at          BIGINT NOT NULL,
    CHECK (total_limit IS NULL OR redeemed <= total_limit),
    CHECK (kind <> 'percent' OR value <= 100)
);

-- One row per checkout that holds a redemption; deleted (and `redeemed` given back) when the
-- checkout fails or is refunded before it became an order.
CREATE TABLE coupon_redemptions (
    checkout_id  TEXT PRIMARY KEY,
    coupon_id    BIGINT NOT NULL REFERENCES coupons (id),
    customer     TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX coupon_redemptions_customer ON coupon_redemptions (coupon_id, customer);
