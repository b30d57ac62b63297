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
