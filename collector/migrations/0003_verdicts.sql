-- Version 3 of the collector's PostgreSQL schema: each stored sample's verdict
-- (docs/trust.md). Written in the statement that stores the document; read for the
-- audit of rejected samples and by the daily caps (per install id and per receipt
-- address block, on the sample's local day). Samples stored before this version
-- have no row and read as unattested.
CREATE TABLE result_verdicts (
    id           uuid PRIMARY KEY,
    day          date,
    install_id   uuid,
    client_block text,
    verdict      text NOT NULL CHECK (verdict IN ('attested', 'unattested', 'rejected')),
    reason       text
);
CREATE INDEX result_verdicts_install ON result_verdicts (day, install_id);
CREATE INDEX result_verdicts_block ON result_verdicts (day, client_block);
CREATE INDEX result_verdicts_rejected ON result_verdicts (day, reason) WHERE verdict = 'rejected';

-- The campaign page shows, per area and day, rejected samples and the commonest
-- reasons beside the counted ones (kinds 1 to 3 as in campaign_counts).
ALTER TABLE campaign_counts ADD COLUMN rejected bigint NOT NULL DEFAULT 0;
CREATE TABLE campaign_rejections (
    day     date NOT NULL,
    kind    smallint NOT NULL,
    key     text NOT NULL,
    reason  text NOT NULL,
    samples bigint NOT NULL,
    PRIMARY KEY (day, kind, key, reason)
);
