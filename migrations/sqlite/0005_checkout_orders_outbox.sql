-- Checkout attempts: the saga's log. One row per (owner, idempotency key); `state` is the
-- recovery point, `lease_until` says who may drive it (the request that started it, or,
-- once the lease has run out, the recovery worker). Terminal attempts keep the answer that
-- the first request got, replayed byte for byte to any request with the same key.
CREATE TABLE checkouts (
    id                 TEXT PRIMARY KEY,
    owner              TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL,
    fingerprint        TEXT NOT NULL,
    cart_id            TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('claimed', 'reserved', 'paying',
                           'payment_unknown', 'paid', 'compensating', 'confirmed', 'failed')),
    email              TEXT NOT NULL,
    shipping_address   TEXT NOT NULL,
    lines              TEXT NOT NULL,
    total_amount       INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    card_last4         TEXT NOT NULL,
    charge_id          TEXT,
    order_id           TEXT,
    failure_code       TEXT,
    failure_message    TEXT,
    response_status    INTEGER,
    response_body      TEXT,
    payment_started_at INTEGER,
    reconciled_at      INTEGER,
    lease_until        INTEGER NOT NULL,
    recovery_attempts  INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (owner, idempotency_key)
);
CREATE INDEX checkouts_recovery ON checkouts (state, lease_until);

-- Orders: created in the same transaction that commits the stock and clears the cart.
CREATE TABLE orders (
    id                TEXT PRIMARY KEY,
    checkout_id       TEXT NOT NULL UNIQUE,
    email             TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('confirmed', 'fulfilling', 'shipped',
                          'delivered', 'cancelled', 'refunded')),
    total_amount      INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    shipping_address  TEXT NOT NULL,
    charge_id         TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX orders_email ON orders (email, created_at);

CREATE TABLE order_lines (
    order_id    TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    variant_id  INTEGER NOT NULL,
    sku         TEXT NOT NULL,
    title       TEXT NOT NULL,
    options     TEXT NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_price  INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    PRIMARY KEY (order_id, position)
);

-- Every status an order has had, for the order page's timeline.
CREATE TABLE order_history (
    order_id    TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX order_history_order ON order_history (order_id, at);

-- The transactional outbox: written in the same transaction as the change it announces,
-- delivered at least once by the dispatcher, with retries and a dead-letter mark.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    topic         TEXT NOT NULL,
    aggregate_id  TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    available_at  INTEGER NOT NULL,
    locked_until  INTEGER NOT NULL,
    last_error    TEXT,
    delivered_at  INTEGER,
    dead_at       INTEGER
);
CREATE INDEX outbox_pending ON outbox (delivered_at, dead_at, available_at);

-- Fulfillment: one shipment per order, created from its order_confirmed event.
CREATE TABLE shipments (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL UNIQUE REFERENCES orders (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'shipped', 'delivered')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
