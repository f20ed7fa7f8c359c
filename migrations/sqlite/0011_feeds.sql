-- Seller catalog feeds and the queue of product pictures fetched from the feeds' URLs.

-- An uploaded feed, processed in the background by whichever node takes it first.
CREATE TABLE feeds (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    seller_id     INTEGER NOT NULL REFERENCES sellers (id),
    file_name     TEXT NOT NULL,
    format        TEXT NOT NULL CHECK (format IN ('csv', 'json')),
    body          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'done', 'failed')),
    rows_total    INTEGER NOT NULL DEFAULT 0,
    rows_done     INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0,
    -- JSON: [{"line", "column", "reason"}], one per refused row.
    errors        TEXT NOT NULL DEFAULT '[]',
    -- Why the whole file was refused (not CSV or JSON, no header, …).
    failure       TEXT,
    -- A node processing the feed owns it until then; a crashed node's feed is taken again.
    lease_until   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX feeds_seller ON feeds (seller_id, id);
CREATE INDEX feeds_status ON feeds (status, lease_until);

-- One picture URL of one product. Fetched by workers on every node: a row is taken by moving
-- `next_attempt_at` ahead with a conditional update, so no two nodes fetch it at once.
CREATE TABLE image_fetches (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    seller_id        INTEGER NOT NULL REFERENCES sellers (id),
    product_id       INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    feed_id          INTEGER REFERENCES feeds (id) ON DELETE SET NULL,
    url              TEXT NOT NULL,
    host             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'stored', 'needs_review', 'refused')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    reason           TEXT,
    image_id         INTEGER,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    UNIQUE (product_id, url)
);
CREATE INDEX image_fetches_due ON image_fetches (status, next_attempt_at);
CREATE INDEX image_fetches_feed ON image_fetches (feed_id);
CREATE INDEX image_fetches_seller ON image_fetches (seller_id, status);
