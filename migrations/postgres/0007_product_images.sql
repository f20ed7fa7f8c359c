-- Product pictures. The bytes live in the object store under sellers/{seller_id}/images/{hash}/,
-- named by the SHA-256 of the upload, so no object is ever overwritten: replacing or removing
-- a picture changes these rows only, and every earlier version stays in the store.
CREATE TABLE product_images (
    id           BIGSERIAL PRIMARY KEY,
    product_id   BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    seller_id    BIGINT NOT NULL REFERENCES sellers (id),
    hash         TEXT NOT NULL CHECK (length(hash) = 64),
    status       TEXT NOT NULL CHECK (status IN ('live', 'needs_review', 'removed', 'replaced')),
    position     BIGINT NOT NULL,
    width        BIGINT NOT NULL CHECK (width > 0),
    height       BIGINT NOT NULL CHECK (height > 0),
    alt          TEXT NOT NULL,
    -- The quality gate's report (JSON): sharpness, resolution tier, aspect, reasons.
    quality      TEXT NOT NULL,
    replaces_id  BIGINT REFERENCES product_images (id),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX product_images_once ON product_images (product_id, hash);
CREATE INDEX product_images_shown ON product_images (product_id, status, position);
CREATE INDEX product_images_hash ON product_images (seller_id, hash);

-- Sellers' API keys (for their own tools and feeds). Only a SHA-256 of the key is kept.
CREATE TABLE seller_api_keys (
    key_hash    TEXT PRIMARY KEY,
    seller_id   BIGINT NOT NULL REFERENCES sellers (id),
    label       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX seller_api_keys_seller ON seller_api_keys (seller_id);
