-- Version 1 of the collector's PostgreSQL schema.
--
-- Documents: `result_ids` holds each id once (the idempotency key, across every
-- partition); `results` holds the documents, partitioned by the month they arrived
-- (old months can be detached, archived or dropped whole). Partitions are created ahead
-- by the collector; the default partition only catches what arrives before that.
CREATE TABLE result_ids (
    id          uuid PRIMARY KEY,
    received_at timestamptz NOT NULL
);
CREATE TABLE results (
    id          uuid NOT NULL,
    received_at timestamptz NOT NULL,
    document    jsonb NOT NULL
) PARTITION BY RANGE (received_at);
CREATE INDEX results_id ON results (id);
CREATE TABLE results_default PARTITION OF results DEFAULT;

-- Campaign counters, updated in the statement that stores a document, so progress
-- reads a day's counters and never the documents. `kind`: 1 commune, 2 hamlet,
-- 3 organisation (report rows), 4 leaf (a sample's deepest row, for filtered totals),
-- 5 day (every sample of the day), 6 unassigned (no area). `key`: the normalised path
-- joined by U+001F. `channel`: index of the platform channel, -1 for "any". `shard`:
-- the day-wide rows (kinds 5, 6) are spread over a few rows so that concurrent
-- uploads do not queue on one row lock; progress sums them.
CREATE TABLE campaign_counts (
    day         date NOT NULL,
    kind        smallint NOT NULL,
    key         text NOT NULL,
    channel     smallint NOT NULL,
    shard       smallint NOT NULL,
    counted     bigint NOT NULL,
    not_counted bigint NOT NULL,
    PRIMARY KEY (day, kind, key, channel, shard)
);
-- Who took part: one row per install, row and channel (and channel -1), so the
-- participants counter below is increased exactly once per distinct install.
CREATE TABLE campaign_members (
    day        date NOT NULL,
    kind       smallint NOT NULL,
    key        text NOT NULL,
    channel    smallint NOT NULL,
    install_id uuid NOT NULL,
    PRIMARY KEY (day, kind, key, channel, install_id)
);
CREATE TABLE campaign_people (
    day          date NOT NULL,
    kind         smallint NOT NULL,
    key          text NOT NULL,
    channel      smallint NOT NULL,
    shard        smallint NOT NULL,
    participants bigint NOT NULL,
    PRIMARY KEY (day, kind, key, channel, shard)
);
-- How people spelled each report row (the page shows the commonest spelling).
CREATE TABLE campaign_spellings (
    day     date NOT NULL,
    kind    smallint NOT NULL,
    key     text NOT NULL,
    path    text NOT NULL,
    samples bigint NOT NULL,
    PRIMARY KEY (day, kind, key, path)
);

-- Settings every collector on this database must share: the campaign's time zone,
-- which decides the day a sample is counted in.
CREATE TABLE collector_settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);
