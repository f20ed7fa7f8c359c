-- Seller catalog feeds and the queue of product pictures fetched from the feeds' URLs.

-- An uploaded feed, processed in the background by whichever node takes it first.
CREATE TABLE feeds (
    id            BIGSERIAL PRIMARY KEY,
    seller_id     BIGINT NOT NULL REFERENCES sellers (id),
    file_name     TEXT NOT NULL,
    format        TEXT NOT NULL CHECK (format IN ('csv', 'json')),
    body          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'done', 'failed')),
    rows_total    BIGINT NOT NULL DEFAULT 0,
    rows_done     BIGINT NOT NULL DEFAULT 0,
    created       BIGINT NOT NULL DEFAULT 0,
    updated       BIGINT NOT NULL DEFAULT 0,
    unchanged     BIGINT NOT NULL DEFAULT 0,
    -- JSON: [{"line", "column", "reason"}], one per refused row.
    errors        TEXT NOT NULL DEFAULT '[]',
    -- Why the whole file was refused (not CSV or JSON, no header, …).
    failure       TEXT,
    -- A node processing the feed owns it until then; a crashed node's feed is taken again.
    lease_until   BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    finished_at   BIGINT
);
CREATE INDEX feeds_seller ON feeds (seller_id, id);
CREATE INDEX feeds_status ON feeds (status, lease_until);

-- One picture URL of one product. Fetched by workers on every node: a row is taken by moving
-- `next_attempt_at` ahead with a conditional update, so no two nodes fetch it at once.
CREATE TABLE image_fetches (
    id               BIGSERIAL PRIMARY KEY,
    seller_id        BIGINT NOT NULL REFERENCES sellers (id),
    product_id       BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    feed_id          BIGINT REFERENCES feeds (id) ON DELETE SET NULL,
    url              TEXT NOT NULL,
    host             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'stored', 'needs_review', 'refused')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    reason           TEXT,
    image_id         BIGINT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    UNIQUE (product_id, url)
);
CREATE INDEX image_fetches_due ON image_fetches (status, next_attempt_at);
CREATE INDEX image_fetches_feed ON image_fetches (feed_id);
CREATE INDEX image_fetches_seller ON image_fetches (seller_id, status);
