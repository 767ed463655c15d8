-- The demo monolith's existing rows, written before cleave starts: the initial snapshot copies them
-- (op r events) before capture streams the workload's changes.
INSERT INTO users (email, name, created_at)
SELECT 'early' || g || '@example.com', 'Early customer ' || g, timestamptz '2019-01-01' + g * interval '1 day'
FROM generate_series(1, 300) g;
INSERT INTO products (sku, title, price_cents, attributes)
SELECT 'OLD-' || g, 'Classic product ' || g, 250 + g * 13 % 3000, jsonb_build_object('since', 2019 + g % 5)
FROM generate_series(1, 20) g;
INSERT INTO orders (customer_id, total_cents, status, created_at)
SELECT 1 + g % 300, 0, CASE WHEN g % 7 = 0 THEN 'cancelled' ELSE 'delivered' END,
       timestamptz '2020-01-01' + g * interval '5 hours'
FROM generate_series(1, 1000) g;
INSERT INTO order_items (order_id, line, product_id, quantity, unit_price)
SELECT o.id, l, 1 + (o.id * l) % 20, 1 + l % 2, (250 + ((o.id * l) % 20 + 1) * 13 % 3000) / 100.0
FROM orders o, generate_series(1, 2) l;
UPDATE orders o SET total_cents = (SELECT sum(quantity * unit_price * 100) FROM order_items i WHERE i.order_id = o.id);
