-- The demo monolith: a small shop. Used by demo/run.sh and by docker/docker-compose.yml.
CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE products (
    id           serial PRIMARY KEY,
    sku          varchar(32) NOT NULL UNIQUE,
    title        text NOT NULL,
    price_cents  integer NOT NULL,
    attributes   jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE orders (
    id           bigserial PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES users(id),
    total_cents  bigint NOT NULL,
    status       text NOT NULL DEFAULT 'new',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE order_items (
    order_id     bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    line         integer NOT NULL,
    product_id   integer NOT NULL REFERENCES products(id),
    quantity     integer NOT NULL,
    unit_price   numeric(12,2) NOT NULL,
    PRIMARY KEY (order_id, line)
);
