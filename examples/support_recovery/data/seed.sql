-- The demo system of record of the support_recovery example: a small shop.
-- The executors create shop.db in the run's directory from this file, on
-- first use (with sqlite3 -safe). In production they would talk to the real
-- helpdesk, order, shipping and payment systems instead.

CREATE TABLE customers (
  id    TEXT PRIMARY KEY,
  name  TEXT NOT NULL,
  email TEXT NOT NULL
);

CREATE TABLE orders (
  id                 TEXT PRIMARY KEY,
  customer_id        TEXT NOT NULL REFERENCES customers (id),
  total_cents        INTEGER NOT NULL,
  financial_status   TEXT NOT NULL CHECK (financial_status IN ('pending', 'paid', 'refunded')),
  fulfillment_status TEXT NOT NULL CHECK (fulfillment_status IN ('unfulfilled', 'fulfilled')),
  ship_line1         TEXT NOT NULL,
  ship_line2         TEXT NOT NULL DEFAULT '',
  ship_city          TEXT NOT NULL,
  ship_postal_code   TEXT NOT NULL,
  ship_country       TEXT NOT NULL,
  note               TEXT NOT NULL DEFAULT ''  -- read by the warehouse before picking
);

CREATE TABLE shipments (
  id       TEXT PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders (id),
  carrier  TEXT NOT NULL,
  status   TEXT NOT NULL CHECK (status IN ('awaiting_pick', 'shipped', 'delivered')),
  tracking TEXT
);

CREATE TABLE payments (
  id           TEXT PRIMARY KEY,
  order_id     TEXT NOT NULL REFERENCES orders (id),
  method       TEXT NOT NULL,
  amount_cents INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('authorized', 'captured', 'refunded'))
);

CREATE TABLE cases (
  id       TEXT PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders (id),
  subject  TEXT NOT NULL,
  body     TEXT NOT NULL,
  status   TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  reply    TEXT NOT NULL DEFAULT ''  -- the reply sent to the customer
);

-- Where the warehouse ships: the longest postal_prefix of a country wins.
CREATE TABLE service_zones (
  country       TEXT NOT NULL,
  postal_prefix TEXT NOT NULL,
  zone          TEXT NOT NULL,
  serviced      INTEGER NOT NULL,
  PRIMARY KEY (country, postal_prefix)
);

-- ValidateAddress records every check here; FixAddress uses only a valid one.
CREATE TABLE address_checks (
  id          TEXT PRIMARY KEY,
  order_id    TEXT NOT NULL REFERENCES orders (id),
  line1       TEXT NOT NULL,
  line2       TEXT NOT NULL,
  city        TEXT NOT NULL,
  postal_code TEXT NOT NULL,
  country     TEXT NOT NULL,
  valid       INTEGER NOT NULL,
  zone        TEXT,
  reason      TEXT,
  checked_at  TEXT NOT NULL,
  one_line    TEXT GENERATED ALWAYS AS (
    line1 || iif(line2 = '', '', ', ' || line2) || ', ' || city || ' ' || postal_code || ', ' || country)
);

INSERT INTO customers VALUES
  ('CUS-1', 'Ada Byron', 'ada@example.com'),
  ('CUS-2', 'Grace Hopper', 'grace@example.com'),
  ('CUS-3', 'Alan Turing', 'alan@example.com');

INSERT INTO orders (id, customer_id, total_cents, financial_status, fulfillment_status,
                    ship_line1, ship_city, ship_postal_code, ship_country) VALUES
  ('ORD-1001', 'CUS-1', 8900, 'paid', 'unfulfilled', '4 Old Road', 'Springfield', '62701', 'US'),
  ('ORD-1002', 'CUS-2', 4500, 'paid', 'fulfilled', '9 Harbor Way', 'Arlington', '22201', 'US'),
  ('ORD-1003', 'CUS-3', 12000, 'pending', 'unfulfilled', '1 Bletchley Lane', 'Boston', '02101', 'US');

INSERT INTO shipments VALUES
  ('SHP-1', 'ORD-1001', 'UPS', 'awaiting_pick', NULL),
  ('SHP-2', 'ORD-1002', 'UPS', 'shipped', '1Z999AA10123456784'),
  ('SHP-3', 'ORD-1003', 'USPS', 'awaiting_pick', NULL);

INSERT INTO payments VALUES
  ('PAY-1', 'ORD-1001', 'card', 8900, 'captured'),
  ('PAY-2', 'ORD-1002', 'card', 4500, 'captured'),
  ('PAY-3', 'ORD-1003', 'card', 12000, 'authorized');

INSERT INTO cases (id, order_id, subject, body, status) VALUES
  ('C-2001', 'ORD-1001', 'Wrong shipping address',
   'Hi, I moved last week. Please send order ORD-1001 to 12 Elm Street, Springfield 62704 instead. Ada', 'open'),
  ('C-2002', 'ORD-1002', 'New address',
   'Can you ship ORD-1002 to 77 Bay Road, Arlington 22202? Grace', 'open'),
  ('C-2003', 'ORD-1003', 'Address change',
   'Please use 3 Hut Street, Boston 02108 for ORD-1003. Alan', 'open');

INSERT INTO service_zones VALUES
  ('US', '', 'us-contiguous', 1),
  ('US', '967', 'us-hawaii', 0),
  ('US', '968', 'us-hawaii', 0),
  ('US', '995', 'us-alaska', 0),
  ('US', '996', 'us-alaska', 0),
  ('US', '997', 'us-alaska', 0),
  ('US', '998', 'us-alaska', 0),
  ('US', '999', 'us-alaska', 0),
  ('DE', '', 'eu-de', 1);
