-- Refunds an operator makes after the sale, and the items that come back with them.

-- One row per refund request. `request_key` is the admin form's idempotency key, so a
-- resubmitted form is the same refund; the row's id is the gateway's idempotency key, so a
-- retried call can never refund twice.
CREATE TABLE refunds (
    id                 TEXT PRIMARY KEY,
    order_id           TEXT NOT NULL REFERENCES orders (id),
    request_key        TEXT NOT NULL,
    amount             INTEGER NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    -- JSON array of {"position", "quantity"}: the order lines this refund covers.
    lines              TEXT NOT NULL,
    reason             TEXT NOT NULL,
    gateway_refund_id  TEXT,
    failure            TEXT,
    created_by         INTEGER REFERENCES users (id),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (order_id, request_key)
);
CREATE INDEX refunds_pending ON refunds (status, updated_at);

-- How much of each line has been refunded (pending refunds included): never above its
-- quantity, so the same unit is never refunded twice.
ALTER TABLE order_lines ADD COLUMN refunded_quantity INTEGER NOT NULL DEFAULT 0
    CHECK (refunded_quantity >= 0);

-- Units of refunded lines, waiting for someone to look at them. Only an inspection that finds
-- them resellable puts them back on sale.
CREATE TABLE returned_items (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    refund_id     TEXT NOT NULL REFERENCES refunds (id),
    order_id      TEXT NOT NULL REFERENCES orders (id),
    variant_id    INTEGER NOT NULL,
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    status        TEXT NOT NULL CHECK (status IN ('awaiting_inspection', 'restocked', 'written_off')),
    inspected_by  INTEGER REFERENCES users (id),
    inspected_at  INTEGER,
    created_at    INTEGER NOT NULL
);
CREATE INDEX returned_items_status ON returned_items (status, created_at);
