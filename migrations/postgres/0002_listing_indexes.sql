-- Listings across the whole catalog sort by rating, price or name without a category filter
-- (the home page, the API's unfiltered list). Without these, every such page sorts the
-- whole products table.
CREATE INDEX products_rating ON products (rating DESC NULLS LAST, id);
CREATE INDEX products_price ON products (price_from, id);
