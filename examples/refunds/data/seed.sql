-- The demo system of record of the refunds example: orders and their refunds.
-- The executors create shop.db in the run's directory from this file, on
-- first use (with sqlite3 -safe). In production they would call the real
-- order system and payment provider instead.

CREATE TABLE orders (
  id               TEXT PRIMARY KEY,
  customer         TEXT NOT NULL,
  total_cents      INTEGER NOT NULL CHECK (total_cents > 0),
  refunded_cents   INTEGER NOT NULL DEFAULT 0 CHECK (refunded_cents BETWEEN 0 AND total_cents),
  financial_status TEXT NOT NULL
    CHECK (financial_status IN ('pending', 'paid', 'partially_refunded', 'refunded'))
);

CREATE TABLE refunds (
  id              TEXT PRIMARY KEY,
  order_id        TEXT NOT NULL REFERENCES orders (id),
  amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
  reason          TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,  -- the pitwall run_id: one refund per run
  created_at      TEXT NOT NULL
);

INSERT INTO orders (id, customer, total_cents, refunded_cents, financial_status) VALUES
  ('ORD-1001', 'Ada Byron', 8900, 0, 'paid'),
  ('ORD-1002', 'Grace Hopper', 249000, 0, 'paid'),
  ('ORD-1003', 'Alan Turing', 12000, 0, 'pending'),
  ('ORD-1004', 'Edsger Dijkstra', 3000, 3000, 'refunded');
