-- "Customers also bought": for each product, the other products found in the same confirmed
-- orders and how many orders had both. Derived from order_lines by a periodic job that
-- replaces the whole table in one transaction; safe to empty at any time.
CREATE TABLE product_pairs (
    product_id  INTEGER NOT NULL,
    other_id    INTEGER NOT NULL,
    orders      INTEGER NOT NULL,
    PRIMARY KEY (product_id, other_id)
);
