-- Who may see an order: its signed-in owner, an admin, and whoever holds its secret link.
-- The link's token is made with the order (32 hex digits, 128 random bits), shown on the
-- confirmation page and in the order's mail, and compared in constant time. Orders placed
-- before it have none: their owner and admins still see them.
ALTER TABLE orders ADD COLUMN access_token TEXT;
