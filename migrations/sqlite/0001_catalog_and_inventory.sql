-- Catalog and inventory. The PostgreSQL twin of this file must create the same tables and
-- columns (a test compares them). Timestamps are milliseconds since the Unix epoch.

CREATE TABLE sellers (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- The category tree. `path` is the slugs from the root joined by '/', so a subtree is
-- `path = $1 OR path LIKE $1 || '/%'`.
CREATE TABLE categories (
    id          INTEGER PRIMARY KEY,
    parent_id   INTEGER REFERENCES categories (id),
    slug        TEXT NOT NULL,
    path        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    depth       INTEGER NOT NULL CHECK (depth >= 0),
    created_at  INTEGER NOT NULL
);
CREATE INDEX categories_parent ON categories (parent_id);

CREATE TABLE products (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    seller_id      INTEGER NOT NULL REFERENCES sellers (id),
    category_id    INTEGER NOT NULL REFERENCES categories (id),
    slug           TEXT NOT NULL UNIQUE,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL,
    brand          TEXT,
    product_class  TEXT,
    rating         INTEGER CHECK (rating BETWEEN 0 AND 500),
    -- The lowest variant price and the variants' one currency, kept by the catalog in the
    -- same transaction as every variant write so listings can sort by price on an index.
    price_from     INTEGER NOT NULL CHECK (price_from >= 0),
    price_to       INTEGER NOT NULL CHECK (price_to >= price_from),
    currency       TEXT NOT NULL,
    source         TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX products_category_rating ON products (category_id, rating);
CREATE INDEX products_category_price ON products (category_id, price_from);
CREATE INDEX products_created ON products (created_at);
CREATE INDEX products_seller ON products (seller_id);

CREATE TABLE variants (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id    INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku           TEXT NOT NULL UNIQUE,
    -- JSON array of {"name", "value"} pairs, e.g. [{"name":"Size","value":"Queen"}].
    options       TEXT NOT NULL,
    price_amount  INTEGER NOT NULL CHECK (price_amount >= 0),
    currency      TEXT NOT NULL,
    position      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX variants_product ON variants (product_id, position);

CREATE TABLE warehouses (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Stock of one SKU in one warehouse. Every change is one conditional UPDATE on this row.
-- Conservation holds per row by construction: what was received is either available,
-- held for a checkout, or committed to an order.
CREATE TABLE stock_levels (
    variant_id    INTEGER NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    warehouse_id  INTEGER NOT NULL REFERENCES warehouses (id),
    available     INTEGER NOT NULL CHECK (available >= 0),
    held          INTEGER NOT NULL CHECK (held >= 0),
    committed     INTEGER NOT NULL CHECK (committed >= 0),
    received      INTEGER NOT NULL CHECK (received >= 0),
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (variant_id, warehouse_id),
    CHECK (available + held + committed = received)
);
CREATE INDEX stock_levels_warehouse ON stock_levels (warehouse_id);

-- The audit trail: every change to a stock row, with why.
CREATE TABLE stock_movements (
    id                 INTEGER PRIMARY KEY,
    variant_id         INTEGER NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    warehouse_id       INTEGER NOT NULL REFERENCES warehouses (id),
    reason             TEXT NOT NULL,
    reference          TEXT,
    delta_available    INTEGER NOT NULL,
    delta_held         INTEGER NOT NULL,
    delta_committed    INTEGER NOT NULL,
    delta_received     INTEGER NOT NULL,
    created_at         INTEGER NOT NULL
);
CREATE INDEX stock_movements_variant ON stock_movements (variant_id, created_at);

-- Facts about this installation, such as when the demo catalog was imported.
CREATE TABLE app_meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
