-- Fair shared queues: one seller's backlog must not hold up every other seller's work.

-- When a node took the feed (the last time, if it was taken again after a crash). The next
-- feed processed is the waiting one whose seller was served longest ago, so one seller's ten
-- large feeds take turns with everyone else's instead of going first.
ALTER TABLE feeds ADD COLUMN started_at INTEGER;
CREATE INDEX feeds_seller_started ON feeds (seller_id, started_at);

-- The picture queue is taken a seller at a time: this index lists the sellers with queued
-- pictures one entry each (a walk from one seller to the next, however long a backlog is)
-- and gives each seller's oldest due pictures without reading the rest of its line.
CREATE INDEX image_fetches_fair ON image_fetches (status, seller_id, next_attempt_at, id);
