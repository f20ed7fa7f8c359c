-- Periodic jobs that one node at a time should run (the recommendations recompute, the
-- sweeps): a node runs a job only after taking its lease, which lasts one period.
CREATE TABLE job_leases (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    until        BIGINT NOT NULL,
    runs         BIGINT NOT NULL DEFAULT 1,
    taken_at     BIGINT NOT NULL
);
