-- Mail about orders: an HTML part beside the text, and a de-duplication key. A message queued
-- for an event (an order confirmed, shipped…) carries the event's key, so a handler that runs
-- again after a crash or a retried delivery queues nothing new: the second insert meets the
-- unique index and is dropped. Messages with no key (account links) stay unconstrained, since
-- NULLs are distinct in a unique index on both databases.
ALTER TABLE mail_outbox ADD COLUMN html TEXT;
ALTER TABLE mail_outbox ADD COLUMN dedup_key TEXT;
CREATE UNIQUE INDEX mail_outbox_dedup ON mail_outbox (dedup_key);
