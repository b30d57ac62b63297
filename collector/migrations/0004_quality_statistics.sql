-- Version 4 of the collector's PostgreSQL schema: quality statistics.
--
-- `stats_samples`: one row per counted sample (valid, cellular, an official commune,
-- an MCC-MNC, 4G or 5G), written in the statement that stores its document; the open
-- data is read from it. `stats_pending`: the same rows queued for the fold, which
-- deletes them as it merges them into `stats_cells`. Both are insert-only for an
-- upload, so concurrent uploads never wait on one another's rows. `stats_samples` has
-- no key of its own: `result_ids` already admits each id once, and every index costs
-- each upload a page write; the open data reads it by (started_at, id).
CREATE TABLE stats_samples (
    id            uuid NOT NULL,
    started_at    bigint NOT NULL,          -- Unix ms, UTC
    commune       integer NOT NULL,         -- official commune code
    mcc_mnc       text NOT NULL,
    operator      text,
    technology    smallint NOT NULL,        -- 4 or 5
    install_id    uuid,                     -- never published
    download_mbps double precision,
    upload_mbps   double precision,
    latency_ms    double precision,
    verdict       text                      -- attestation verdict; NULL: unattested
);
CREATE INDEX stats_samples_started_at ON stats_samples (started_at, id);
CREATE TABLE stats_pending (
    seq           bigserial PRIMARY KEY,
    started_at    bigint NOT NULL,
    commune       integer NOT NULL,
    mcc_mnc       text NOT NULL,
    operator      text,
    technology    smallint NOT NULL,
    install_id    uuid,
    download_mbps double precision,
    upload_mbps   double precision,
    latency_ms    double precision,
    verdict       text
);
-- One row per area (level 1 commune, 2 province) × operator × technology × period
-- (YYYY-MM or YYYY-MM-DD): counters and three DDSketches (JSON).
CREATE TABLE stats_cells (
    period       text NOT NULL,
    level        smallint NOT NULL,
    area         integer NOT NULL,
    mcc_mnc      text NOT NULL,
    technology   smallint NOT NULL,
    operator     text,
    samples      bigint NOT NULL,
    participants bigint NOT NULL,
    at_or_above  bigint NOT NULL,
    download     text NOT NULL,
    upload       text NOT NULL,
    latency      text NOT NULL,
    PRIMARY KEY (period, level, area, mcc_mnc, technology)
);
-- Who took part in a cell: the participants counter moves once per new row.
CREATE TABLE stats_members (
    period     text NOT NULL,
    level      smallint NOT NULL,
    area       integer NOT NULL,
    mcc_mnc    text NOT NULL,
    technology smallint NOT NULL,
    install_id uuid NOT NULL,
    PRIMARY KEY (period, level, area, mcc_mnc, technology, install_id)
);
