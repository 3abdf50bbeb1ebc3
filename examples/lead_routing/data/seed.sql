-- The demo system of record of the lead_routing example: a small CRM.
-- The executors create crm.db in the run's directory from this file, on first
-- use (with sqlite3 -safe). In production they would call the real CRM,
-- enrichment service and chat or mail system instead.

-- What the enrichment service knows about companies, by email domain.
CREATE TABLE companies (
  domain    TEXT PRIMARY KEY,
  name      TEXT NOT NULL,
  employees INTEGER NOT NULL,
  industry  TEXT NOT NULL,
  country   TEXT NOT NULL
);

CREATE TABLE reps (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  email      TEXT NOT NULL,
  segment    TEXT NOT NULL CHECK (segment IN ('enterprise', 'mid_market', 'smb')),
  region     TEXT NOT NULL CHECK (region IN ('na', 'emea', 'global')),
  open_leads INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE leads (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  email       TEXT NOT NULL,
  message     TEXT NOT NULL,
  received_at TEXT NOT NULL,
  -- ClassifyLead
  intent      TEXT,
  qualified   INTEGER,
  -- EnrichLead
  company     TEXT,
  employees   INTEGER,
  segment     TEXT,
  region      TEXT,
  -- AssignOwner
  owner_id    TEXT REFERENCES reps (id),
  lane        TEXT,
  -- every step leaves the next one
  next_action TEXT
);

-- NotifyOwner: one notification (the owner's brief) per lead.
CREATE TABLE notifications (
  id         TEXT PRIMARY KEY,
  lead_id    TEXT NOT NULL UNIQUE REFERENCES leads (id),
  rep_id     TEXT NOT NULL REFERENCES reps (id),
  channel    TEXT NOT NULL,
  brief      TEXT NOT NULL,
  created_at TEXT NOT NULL
);

INSERT INTO companies VALUES
  ('acme-robotics.com', 'Acme Robotics', 2400, 'manufacturing', 'US'),
  ('globex.com', 'Globex', 600, 'energy', 'US'),
  ('kleinwerk.de', 'Kleinwerk GmbH', 45, 'software', 'DE');

INSERT INTO reps (id, name, email, segment, region) VALUES
  ('REP-1', 'Morgan Lee', 'morgan@example.com', 'enterprise', 'na'),
  ('REP-2', 'Sam Ortiz', 'sam@example.com', 'enterprise', 'emea'),
  ('REP-3', 'Riley Chen', 'riley@example.com', 'mid_market', 'global'),
  ('REP-4', 'Jo Weber', 'jo@example.com', 'smb', 'emea'),
  ('REP-5', 'Alex Kim', 'alex@example.com', 'smb', 'global');

INSERT INTO leads (id, name, email, message, received_at) VALUES
  ('L-1', 'Dana Scully', 'dana@acme-robotics.com',
   'We would like a demo for our data team, and pricing for 1,500 seats.', '2026-02-10T09:12:00Z'),
  ('L-2', 'Max Mueller', 'max@kleinwerk.de',
   'What is your pricing for a team of 12?', '2026-02-10T09:40:00Z'),
  ('L-3', 'Bob', 'bob1987@gmail.com',
   'Cheap SEO services for your website!!! Reply now', '2026-02-10T10:02:00Z'),
  ('L-4', 'Priya Natarajan', 'priya@northwind.io',
   'Interested in a reseller partnership in India.', '2026-02-10T10:30:00Z'),
  ('L-5', 'Jo Park', 'jo.park@globex.com',
   'Could we start a trial for the operations group?', '2026-02-10T11:05:00Z');
