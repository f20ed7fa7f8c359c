-- Guest carts. A cart's id is a 128-bit random token (hex): it is the cookie value and the
-- API's cart_id, so knowing it is what gives access to the cart.
CREATE TABLE carts (
    id          TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX carts_updated ON carts (updated_at);

-- One line per SKU. `price_seen` is the unit price when the shopper last chose the quantity,
-- so the cart page can say when the price changed since.
CREATE TABLE cart_lines (
    cart_id     TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    variant_id  BIGINT NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    quantity    BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    price_seen  BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (cart_id, variant_id)
);

-- "Add to cart" operations already applied, so a double-clicked or resubmitted Add adds once.
CREATE TABLE cart_ops (
    cart_id     TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    op_id       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (cart_id, op_id)
);
