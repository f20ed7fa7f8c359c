-- A signed-in shopper's address book: the addresses they keep, and which one checkout
-- starts from. The default is a row of its own (one per account, replaced in one upsert) so
-- that two "make this my default" clicks at once cannot leave two defaults or none; deleting
-- the default address deletes the choice with it.
CREATE TABLE saved_addresses (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    line1        TEXT NOT NULL,
    line2        TEXT NOT NULL,
    city         TEXT NOT NULL,
    region       TEXT NOT NULL,
    postal_code  TEXT NOT NULL,
    country      TEXT NOT NULL,
    phone        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX saved_addresses_user ON saved_addresses (user_id, id);

CREATE TABLE default_addresses (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    address_id  BIGINT NOT NULL REFERENCES saved_addresses (id) ON DELETE CASCADE
);

-- An address form that came back with mistakes, as typed, until it is saved or abandoned
-- (`new` for the add form, else the address's id): a form posted without JavaScript
-- redirects, and the page it lands on shows the fields again from here.
CREATE TABLE address_drafts (
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address_key  TEXT NOT NULL,
    fields       TEXT NOT NULL,
    errors       TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, address_key)
);

-- A seller's product form that came back with mistakes, as typed (`new`, or the product's
-- id), for the page a form posted without JavaScript is redirected to (`?unsaved=1`).
CREATE TABLE product_drafts (
    seller_id    BIGINT NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    product_key  TEXT NOT NULL,
    fields       TEXT NOT NULL,
    errors       TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (seller_id, product_key)
);
