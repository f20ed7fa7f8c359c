-- "Customers also bought": for each product, the other products found in the same confirmed
-- orders and how many orders had both. Derived from order_lines by a periodic job that
-- replaces the whole table in one transaction; safe to empty at any time.
CREATE TABLE product_pairs (
    product_id  BIGINT NOT NULL,
    other_id    BIGINT NOT NULL,
    orders      BIGINT NOT NULL,
    PRIMARY KEY (product_id, other_id)
);
