"""Tables of the dispatcher: subscriptions, events, deliveries, attempts, back-off history."""

from __future__ import annotations

from storage.schema import Schema

_V1 = """
CREATE TABLE subscription (
    guid               TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    event_category     TEXT NOT NULL,
    url                TEXT NOT NULL,
    notification_email TEXT NOT NULL,
    secret             TEXT NOT NULL,
    status             TEXT NOT NULL,      -- ACTIVE | PAUSED | STOPPED, mirrors backoff
    backoff            TEXT NOT NULL,      -- JSON of the back-off state machine
    paused_until       REAL,
    created_at         REAL NOT NULL,
    modified_at        REAL NOT NULL
);
CREATE INDEX subscription_by_category ON subscription (event_category);
CREATE INDEX subscription_paused ON subscription (paused_until) WHERE status = 'PAUSED';

CREATE TABLE event (
    guid            TEXT PRIMARY KEY,
    category        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    restaurant_guid TEXT,
    timestamp       TEXT NOT NULL,          -- the envelope's timestamp text, as signed
    body            BLOB NOT NULL,          -- the exact bytes sent
    created_at      REAL NOT NULL
);

CREATE TABLE delivery (
    id                INTEGER PRIMARY KEY,
    webhook_guid      TEXT NOT NULL UNIQUE,
    subscription_guid TEXT NOT NULL REFERENCES subscription (guid) ON DELETE CASCADE,
    event_guid        TEXT NOT NULL REFERENCES event (guid),
    status            TEXT NOT NULL,        -- SUCCESS | PENDING | NOT_SENT | FAILURE
    series            INTEGER NOT NULL DEFAULT 1,   -- 1 + number of replays
    attempts          INTEGER NOT NULL DEFAULT 0,   -- attempts in the current series
    total_attempts    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   REAL,                 -- platform time the next attempt is due
    claimed_until     REAL,                 -- lease: an attempt is in flight until then
    first_sent_at     REAL,
    last_status_code  INTEGER,
    last_outcome      TEXT,
    route_key         TEXT NOT NULL,
    signature         TEXT NOT NULL,
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL
);
CREATE INDEX delivery_due ON delivery (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX delivery_by_subscription ON delivery (subscription_guid, created_at, id);
CREATE INDEX delivery_by_event ON delivery (event_guid);

CREATE TABLE attempt (
    id               INTEGER PRIMARY KEY,
    delivery_id      INTEGER NOT NULL REFERENCES delivery (id) ON DELETE CASCADE,
    series           INTEGER NOT NULL,
    number           INTEGER NOT NULL,
    started_at       REAL NOT NULL,
    outcome          TEXT NOT NULL,         -- http | timeout | connect_error | error
    status_code      INTEGER,
    latency_ms       REAL NOT NULL,
    detail           TEXT NOT NULL,
    response_excerpt TEXT NOT NULL
);
CREATE INDEX attempt_by_delivery ON attempt (delivery_id, id);

CREATE TABLE backoff_transition (
    id                INTEGER PRIMARY KEY,
    subscription_guid TEXT NOT NULL REFERENCES subscription (guid) ON DELETE CASCADE,
    kind              TEXT NOT NULL,        -- PAUSED | RESUMED | STOPPED | RESTARTED
    at                REAL NOT NULL,
    errors_in_window  INTEGER NOT NULL,
    pauses_in_window  INTEGER NOT NULL,
    reason            TEXT NOT NULL
);
CREATE INDEX transition_by_subscription ON backoff_transition (subscription_guid, at);
"""

# The same tables on PostgreSQL: DOUBLE PRECISION for SQLite's REAL (8-byte floats on both),
# BYTEA for BLOB, identity columns for INTEGER PRIMARY KEY.
_PG_V1 = """
CREATE TABLE subscription (
    guid               TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    event_category     TEXT NOT NULL,
    url                TEXT NOT NULL,
    notification_email TEXT NOT NULL,
    secret             TEXT NOT NULL,
    status             TEXT NOT NULL,      -- ACTIVE | PAUSED | STOPPED, mirrors backoff
    backoff            TEXT NOT NULL,      -- JSON of the back-off state machine
    paused_until       DOUBLE PRECISION,
    created_at         DOUBLE PRECISION NOT NULL,
    modified_at        DOUBLE PRECISION NOT NULL
);
CREATE INDEX subscription_by_category ON subscription (event_category);
CREATE INDEX subscription_paused ON subscription (paused_until) WHERE status = 'PAUSED';

CREATE TABLE event (
    guid            TEXT PRIMARY KEY,
    category        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    restaurant_guid TEXT,
    timestamp       TEXT NOT NULL,          -- the envelope's timestamp text, as signed
    body            BYTEA NOT NULL,         -- the exact bytes sent
    created_at      DOUBLE PRECISION NOT NULL,
    -- SQLite's implicit rowid, made explicit: insertion order, the tie-break between events
    -- of the same instant (storage.restaurants reads it by this name on both backends)
    rowid           BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);

CREATE TABLE delivery (
    id                BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    webhook_guid      TEXT NOT NULL UNIQUE,
    subscription_guid TEXT NOT NULL REFERENCES subscription (guid) ON DELETE CASCADE,
    event_guid        TEXT NOT NULL REFERENCES event (guid),
    status            TEXT NOT NULL,        -- SUCCESS | PENDING | NOT_SENT | FAILURE
    series            INTEGER NOT NULL DEFAULT 1,   -- 1 + number of replays
    attempts          INTEGER NOT NULL DEFAULT 0,   -- attempts in the current series
    total_attempts    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   DOUBLE PRECISION,     -- platform time the next attempt is due
    claimed_until     DOUBLE PRECISION,     -- lease: an attempt is in flight until then
    first_sent_at     DOUBLE PRECISION,
    last_status_code  INTEGER,
    last_outcome      TEXT,
    route_key         TEXT NOT NULL,
    signature         TEXT NOT NULL,
    created_at        DOUBLE PRECISION NOT NULL,
    updated_at        DOUBLE PRECISION NOT NULL
);
CREATE INDEX delivery_due ON delivery (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX delivery_by_subscription ON delivery (subscription_guid, created_at, id);
CREATE INDEX delivery_by_event ON delivery (event_guid);

CREATE TABLE attempt (
    id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    delivery_id      BIGINT NOT NULL REFERENCES delivery (id) ON DELETE CASCADE,
    series           INTEGER NOT NULL,
    number           INTEGER NOT NULL,
    started_at       DOUBLE PRECISION NOT NULL,
    outcome          TEXT NOT NULL,         -- http | timeout | connect_error | error
    status_code      INTEGER,
    latency_ms       DOUBLE PRECISION NOT NULL,
    detail           TEXT NOT NULL,
    response_excerpt TEXT NOT NULL
);
CREATE INDEX attempt_by_delivery ON attempt (delivery_id, id);

CREATE TABLE backoff_transition (
    id                BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    subscription_guid TEXT NOT NULL REFERENCES subscription (guid) ON DELETE CASCADE,
    kind              TEXT NOT NULL,        -- PAUSED | RESUMED | STOPPED | RESTARTED
    at                DOUBLE PRECISION NOT NULL,
    errors_in_window  INTEGER NOT NULL,
    pauses_in_window  INTEGER NOT NULL,
    reason            TEXT NOT NULL
);
CREATE INDEX transition_by_subscription ON backoff_transition (subscription_guid, at);

-- The restaurant a partner event's body names (storage.restaurants; SQLite: json_extract);
-- NULL for a body that is not UTF-8 JSON, so one bad row cannot break the list.
CREATE FUNCTION event_restaurant_guid(body BYTEA) RETURNS TEXT
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN convert_from(body, 'UTF8')::jsonb #>> '{details,restaurantGuid}';
EXCEPTION WHEN invalid_text_representation OR character_not_in_repertoire
               OR untranslatable_character THEN
    RETURN NULL;
END
$$;
"""

# Version 2: the event log filtered by status (the portal's Status filter; Not sent above all)
# reads only the matching rows, newest first, instead of every delivery of the subscription.
_V2 = """
CREATE INDEX delivery_by_subscription_status ON delivery (subscription_guid, status, created_at, id);
"""

# Version 3: the back-off chart reads the attempts of its window (storage.error_rates) instead of
# every attempt the subscription ever had.
_V3 = """
CREATE INDEX attempt_by_start ON attempt (started_at);
"""

# Version 4: the fallback APIs (storage.event_log) read one restaurant's newest events of a
# category, and a restaurant's partner events (which name it only in their body).
_V4 = """
CREATE INDEX event_by_category_restaurant ON event (category, restaurant_guid, created_at);
CREATE INDEX event_partner_restaurant ON event (json_extract(CAST(body AS TEXT), '$.details.restaurantGuid'))
    WHERE category = 'partner';
"""
_PG_V4 = """
CREATE INDEX event_by_category_restaurant ON event (category, restaurant_guid, created_at);
CREATE INDEX event_partner_restaurant ON event (event_restaurant_guid(body)) WHERE category = 'partner';
"""

# Version 5: back-off state stored one way. It was a JSON copy of the whole state machine
# (``backoff``) beside the columns SQL reads (status, paused_until), written together. The
# columns stay (the due query and the pause index read them); the two windows' times, which
# only the dispatcher reads and always whole, move to their own columns as JSON arrays: at
# most a threshold's worth of floats each (dispatcher.backoff), read with the row they belong
# to, so a table of their own would cost a join and a row per event for no query.
_V5 = """
ALTER TABLE subscription ADD COLUMN error_times TEXT NOT NULL DEFAULT '[]';
ALTER TABLE subscription ADD COLUMN pause_times TEXT NOT NULL DEFAULT '[]';
UPDATE subscription SET
    error_times = coalesce(json_extract(backoff, '$.error_times'), '[]'),
    pause_times = coalesce(json_extract(backoff, '$.pause_times'), '[]');
ALTER TABLE subscription DROP COLUMN backoff;
"""
_PG_V5 = """
ALTER TABLE subscription ADD COLUMN error_times TEXT NOT NULL DEFAULT '[]',
                         ADD COLUMN pause_times TEXT NOT NULL DEFAULT '[]';
UPDATE subscription SET
    error_times = coalesce((backoff::jsonb -> 'error_times')::text, '[]'),
    pause_times = coalesce((backoff::jsonb -> 'pause_times')::text, '[]');
ALTER TABLE subscription DROP COLUMN backoff;
"""

DISPATCH_SCHEMA = Schema("dispatcher", (_V1, _V2, _V3, _V4, _V5),
                         postgresql=(_PG_V1, _V2, _V3, _PG_V4, _PG_V5))
