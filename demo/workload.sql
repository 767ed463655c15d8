-- The demo workload: a few minutes of a shop's life, in many small transactions.
INSERT INTO users (email, name)
SELECT 'user' || g || '@example.com', 'User ' || g FROM generate_series(1, 200) g;
INSERT INTO products (sku, title, price_cents, attributes)
SELECT 'SKU-' || g, 'Product ' || g, 100 + g * 37 % 5000, jsonb_build_object('color', (array['red','green','blue'])[1 + g % 3])
FROM generate_series(1, 50) g;

DO $$
DECLARE
    o bigint;
BEGIN
    FOR i IN 1 .. 500 LOOP
        INSERT INTO orders (customer_id, total_cents) VALUES (1 + i % 200, 0) RETURNING id INTO o;
        INSERT INTO order_items (order_id, line, product_id, quantity, unit_price)
        SELECT o, l, 1 + (i * l) % 50, 1 + l % 3, (100 + ((i * l) % 50) * 37 % 5000) / 100.0
        FROM generate_series(1, 1 + i % 4) l;
        UPDATE orders SET total_cents = (SELECT sum(quantity * unit_price * 100) FROM order_items WHERE order_id = o)
        WHERE id = o;
        COMMIT;
    END LOOP;
END $$;

UPDATE orders SET status = 'shipped' WHERE id % 3 = 0;
UPDATE products SET price_cents = price_cents + 50 WHERE id <= 10;
UPDATE users SET name = name || ' (vip)' WHERE id % 25 = 0;
DELETE FROM orders WHERE id % 50 = 0;  -- cascades to order_items
