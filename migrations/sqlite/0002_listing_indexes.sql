-- Listings across the whole catalog sort by rating, price or name without a category filter
-- (the home page, the API's unfiltered list). Without these, every such page sorts the
-- whole products table. In SQLite NULLs sort first ascending and last descending, which is
-- what `rating DESC NULLS LAST` asks for.
CREATE INDEX products_rating ON products (rating DESC, id);
CREATE INDEX products_price ON products (price_from, id);
