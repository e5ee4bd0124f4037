-- Job artifacts (issue #5): one record per uploaded file, at most one per type per job
-- (the runner protocol's rule), the file itself kept by the server's artifact store.
CREATE TABLE job_artifacts (
    id INTEGER PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- `archive`, `metadata`, `junit`, `dotenv`, ... (jobs-api.md §5.7).
    file_type TEXT NOT NULL,
    -- `zip`, `gzip` or `raw`.
    file_format TEXT NOT NULL,
    -- The name the runner gave the file (`artifacts.zip`, `junit.xml.gz`).
    filename TEXT NOT NULL,
    size BIGINT NOT NULL,
    -- Hex SHA-256: a re-upload of the same content is a no-op, different content a 400.
    file_sha256 TEXT NOT NULL,
    -- NULL = kept forever (`expire_in: never` or "keep").
    expire_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (job_id, file_type)
);
-- The job lists batch-load artifacts by job id; UNIQUE (job_id, file_type) already indexes that.
CREATE INDEX job_artifacts_project ON job_artifacts (project_id, id);
-- The expiry sweeper scans only records that can expire.
CREATE INDEX job_artifacts_expire ON job_artifacts (expire_at) WHERE expire_at IS NOT NULL;

-- What the job entity shows as `artifacts_expire_at`; it outlives the records (a dependency
-- whose artifacts expired is told apart from one that never had any).
ALTER TABLE jobs ADD COLUMN artifacts_expire_at BIGINT;

-- Variables of a job's `dotenv` report, for the jobs that depend on it (ci-yaml.md §3.11).
CREATE TABLE job_dotenv_variables (
    id INTEGER PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX job_dotenv_variables_job ON job_dotenv_variables (job_id, id);
