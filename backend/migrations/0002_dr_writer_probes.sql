-- Region switch (docs/dr.md): the dr_probe function of each region writes here during a plan
-- execution. The write is the check (it must commit through that region's endpoints) and the
-- row is the record: which region found the Aurora writer at home, when, for which execution.
-- One row per (region, check), overwritten by the next probe: plain DML, which write
-- forwarding forwards (never DDL or sequences).
CREATE TABLE IF NOT EXISTS dr_writer_probes (
    probe_region  text NOT NULL,
    -- 'writer': through the read/write endpoint, the local cluster must be the writer;
    -- 'app': through the endpoints and role hint the app functions were deployed with.
    probe         text NOT NULL CHECK (probe IN ('writer', 'app')),
    -- The writer's region when the probing session is on it; NULL when the write was
    -- forwarded to a writer elsewhere.
    writer_region text,
    forwarded     boolean NOT NULL,
    execution     text,
    probed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (probe_region, probe)
);

GRANT SELECT, INSERT, UPDATE ON dr_writer_probes TO app_rw;
