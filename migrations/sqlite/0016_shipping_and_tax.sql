-- Shipping and tax in every total (issue 25).

-- Where methods apply. A zone covers areas: a whole country (region ''), a region of one
-- (`US`/`AK`), or, with country '*', everywhere no other zone covers. An address belongs to
-- the zone of its region if one lists it, else of its country, else the '*' zone; an
-- address in no zone cannot be shipped to.
CREATE TABLE shipping_zones (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE shipping_zone_areas (
    zone_id  INTEGER NOT NULL REFERENCES shipping_zones (id) ON DELETE CASCADE,
    country  TEXT NOT NULL,
    region   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (country, region)
);
CREATE INDEX shipping_zone_areas_zone ON shipping_zone_areas (zone_id);

-- A zone's methods: the shop's (seller_id NULL), or one seller's. A seller with methods of
-- their own in a zone ships their parts in that zone by those instead of the shop's.
-- `amount` is the flat price, the price below `threshold` (free_over), or the base price
-- (by_weight, plus `per_kg` for each started kilogram).
CREATE TABLE shipping_methods (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    zone_id     INTEGER NOT NULL REFERENCES shipping_zones (id) ON DELETE CASCADE,
    seller_id   INTEGER REFERENCES sellers (id) ON DELETE CASCADE,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('flat', 'free_over', 'by_weight')),
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    threshold   INTEGER NOT NULL DEFAULT 0 CHECK (threshold >= 0),
    per_kg      INTEGER NOT NULL DEFAULT 0 CHECK (per_kg >= 0),
    currency    TEXT NOT NULL,
    min_days    INTEGER NOT NULL CHECK (min_days >= 0),
    max_days    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CHECK (max_days >= min_days)
);
CREATE UNIQUE INDEX shipping_methods_code ON shipping_methods (zone_id, COALESCE(seller_id, 0), code);

-- The tax table: a rate per country (region '') or per region of a country, in parts per
-- million (7.25 % is 72500), and whether shipping is taxed. A region's row wins over its
-- country's; an address with neither pays no tax. A configurable table, not a tax service.
CREATE TABLE tax_rules (
    country         TEXT NOT NULL,
    region          TEXT NOT NULL DEFAULT '',
    rate_ppm        INTEGER NOT NULL CHECK (rate_ppm BETWEEN 0 AND 1000000),
    shipping_taxed  INTEGER NOT NULL CHECK (shipping_taxed IN (0, 1)),
    updated_at      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (country, region)
);

-- Default rules: the US states' base (state-level) sales tax rates, without local rates;
-- Alaska, Delaware, Montana, New Hampshire and Oregon at 0; shipping untaxed (states differ).
-- A few European countries' standard VAT rates, shipping taxed. docs/OPERATIONS.md says
-- what the table is and is not.
INSERT INTO tax_rules (country, region, rate_ppm, shipping_taxed) VALUES
    ('US', 'AL', 40000, 0),
    ('US', 'AK', 0, 0),
    ('US', 'AZ', 56000, 0),
    ('US', 'AR', 65000, 0),
    ('US', 'CA', 72500, 0),
    ('US', 'CO', 29000, 0),
    ('US', 'CT', 63500, 0),
    ('US', 'DE', 0, 0),
    ('US', 'DC', 60000, 0),
    ('US', 'FL', 60000, 0),
    ('US', 'GA', 40000, 0),
    ('US', 'HI', 40000, 0),
    ('US', 'ID', 60000, 0),
    ('US', 'IL', 62500, 0),
    ('US', 'IN', 70000, 0),
    ('US', 'IA', 60000, 0),
    ('US', 'KS', 65000, 0),
    ('US', 'KY', 60000, 0),
    ('US', 'LA', 50000, 0),
    ('US', 'ME', 55000, 0),
    ('US', 'MD', 60000, 0),
    ('US', 'MA', 62500, 0),
    ('US', 'MI', 60000, 0),
    ('US', 'MN', 68750, 0),
    ('US', 'MS', 70000, 0),
    ('US', 'MO', 42250, 0),
    ('US', 'MT', 0, 0),
    ('US', 'NE', 55000, 0),
    ('US', 'NV', 68500, 0),
    ('US', 'NH', 0, 0),
    ('US', 'NJ', 66250, 0),
    ('US', 'NM', 48750, 0),
    ('US', 'NY', 40000, 0),
    ('US', 'NC', 47500, 0),
    ('US', 'ND', 50000, 0),
    ('US', 'OH', 57500, 0),
    ('US', 'OK', 45000, 0),
    ('US', 'OR', 0, 0),
    ('US', 'PA', 60000, 0),
    ('US', 'RI', 70000, 0),
    ('US', 'SC', 60000, 0),
    ('US', 'SD', 42000, 0),
    ('US', 'TN', 70000, 0),
    ('US', 'TX', 62500, 0),
    ('US', 'UT', 61000, 0),
    ('US', 'VT', 60000, 0),
    ('US', 'VA', 53000, 0),
    ('US', 'WA', 65000, 0),
    ('US', 'WV', 60000, 0),
    ('US', 'WI', 50000, 0),
    ('US', 'WY', 40000, 0),
    ('AT', '', 200000, 1),
    ('BE', '', 210000, 1),
    ('DE', '', 190000, 1),
    ('ES', '', 210000, 1),
    ('FR', '', 200000, 1),
    ('GB', '', 200000, 1),
    ('IE', '', 230000, 1),
    ('IT', '', 220000, 1),
    ('NL', '', 210000, 1);

-- Default zones and methods, in US dollars (the demo shop's currency).
INSERT INTO shipping_zones (id, name, created_at) VALUES
    (1, 'United States', 0), (2, 'Alaska and Hawaii', 0), (3, 'Canada', 0),
    (4, 'Europe', 0), (5, 'Rest of the world', 0);
INSERT INTO shipping_zone_areas (zone_id, country, region) VALUES
    (1, 'US', ''), (2, 'US', 'AK'), (2, 'US', 'HI'), (3, 'CA', ''),
    (4, 'AT', ''), (4, 'BE', ''), (4, 'DE', ''), (4, 'ES', ''), (4, 'FR', ''), (4, 'GB', ''),
    (4, 'IE', ''), (4, 'IT', ''), (4, 'NL', ''), (5, '*', '');
INSERT INTO shipping_methods (zone_id, seller_id, code, name, kind, amount, threshold, per_kg, currency, min_days, max_days, created_at, updated_at) VALUES
    (1, NULL, 'standard', 'Standard', 'free_over', 599, 5000, 0, 'USD', 3, 5, 0, 0),
    (1, NULL, 'express', 'Express', 'flat', 1499, 0, 0, 'USD', 1, 2, 0, 0),
    (2, NULL, 'standard', 'Standard', 'by_weight', 999, 0, 200, 'USD', 5, 9, 0, 0),
    (3, NULL, 'standard', 'Standard', 'by_weight', 1299, 0, 150, 'USD', 5, 10, 0, 0),
    (4, NULL, 'standard', 'International standard', 'by_weight', 1999, 0, 300, 'USD', 7, 14, 0, 0),
    (4, NULL, 'express', 'International express', 'by_weight', 3999, 0, 500, 'USD', 3, 5, 0, 0),
    (5, NULL, 'standard', 'International standard', 'by_weight', 2999, 0, 500, 'USD', 10, 20, 0, 0);


-- Products' weight in grams, for by-weight shipping (NULL: unknown, shipped at the base
-- price). The demo importers fill it (docs/OPERATIONS.md says how).
ALTER TABLE products ADD COLUMN weight_grams INTEGER CHECK (weight_grams >= 0);

-- An attempt's and an order's pricing as computed at checkout (JSON: the totals, each line's
-- discount share and tax, each seller's shipping), kept as it was: never recomputed.
ALTER TABLE checkouts ADD COLUMN pricing TEXT;
ALTER TABLE orders ADD COLUMN pricing TEXT;
ALTER TABLE orders ADD COLUMN subtotal_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN shipping_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN tax_amount INTEGER NOT NULL DEFAULT 0;
UPDATE orders SET subtotal_amount = total_amount + discount_amount;

-- Each order line's seller: an order ships in one part per seller.
ALTER TABLE order_lines ADD COLUMN seller_id INTEGER;
UPDATE order_lines SET seller_id = (
    SELECT p.seller_id FROM variants v JOIN products p ON p.id = v.product_id
    WHERE v.id = order_lines.variant_id);

-- What a shopper has typed into the checkout form so far (every field but the card), with
-- the problems found in it and the delivery methods chosen: the form comes back as typed
-- after any error, with or without JavaScript. Goes with its cart.
CREATE TABLE checkout_drafts (
    cart_id     TEXT PRIMARY KEY REFERENCES carts (id) ON DELETE CASCADE,
    fields      TEXT NOT NULL,
    errors      TEXT NOT NULL,
    choices     TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
