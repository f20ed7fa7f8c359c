-- Holds on stock for checkouts in progress. A hold moves units from `available` to `held`
-- on one stock row; it ends `committed` (the order was confirmed) or `released` (the
-- checkout failed, or the hold expired). Status changes are conditional on the current
-- status, so a hold is released or committed exactly once whoever gets there first.
CREATE TABLE reservations (
    id            INTEGER PRIMARY KEY,
    checkout_id   TEXT NOT NULL,
    variant_id    INTEGER NOT NULL REFERENCES variants (id),
    warehouse_id  INTEGER NOT NULL REFERENCES warehouses (id),
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    status        TEXT NOT NULL CHECK (status IN ('held', 'committed', 'released')),
    expires_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX reservations_checkout ON reservations (checkout_id, status);
CREATE INDEX reservations_expiry ON reservations (status, expires_at);
