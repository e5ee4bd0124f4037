-- Runner managers: one row per (runner, system_id), i.e. per host running a runner token,
-- with what that host last reported about itself.
CREATE TABLE runner_managers (
    id INTEGER PRIMARY KEY,
    runner_id BIGINT NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    system_id TEXT NOT NULL,
    version TEXT,
    revision TEXT,
    platform TEXT,
    architecture TEXT,
    ip_address TEXT,
    created_at BIGINT NOT NULL,
    contacted_at BIGINT,
    UNIQUE (runner_id, system_id)
);

-- Which manager picked a job (NULL when the runner sent no system_id).
ALTER TABLE jobs ADD COLUMN runner_manager_id BIGINT REFERENCES runner_managers (id) ON DELETE SET NULL;

-- The instance registration token of the legacy `POST /runners` flow; a single row, created
-- lazily. Kept in clear: administrators must be able to read it back.
CREATE TABLE runner_registration_tokens (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- `GET /runners/:id/jobs`: a runner's builds, newest first.
CREATE INDEX jobs_runner_id ON jobs (runner_id, id);
