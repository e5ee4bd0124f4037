-- Environments and deployments (ci-yaml.md §3.19, GitLab's environments/deployments APIs).
-- A job with `environment:` links to its environment (`job_environments`); a `start` job
-- also gets a deployment whose status follows the job's. Portable SQL: the same statements
-- run on PostgreSQL.

-- `state`: available, stopping, stopped. `name` is unique per project; `slug` is derived
-- from it once (GitLab never changes a slug after creation).
CREATE TABLE environments (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    external_url TEXT,
    description TEXT,
    tier TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'available',
    auto_stop_at BIGINT,
    auto_stop_setting TEXT NOT NULL DEFAULT 'always',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
-- The list (`states` filter, id order) and the job-creation lookup by name use these.
CREATE INDEX environments_project_state ON environments (project_id, state, id);

-- `iid` counts per project. `status`: created, running, success, failed, canceled, skipped,
-- blocked. A deployment outlives its job (a deleted pipeline leaves `job_id` NULL).
CREATE TABLE deployments (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    iid BIGINT NOT NULL,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    job_id BIGINT REFERENCES jobs (id) ON DELETE SET NULL,
    ref_name TEXT NOT NULL,
    tag BOOLEAN NOT NULL,
    sha TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    status TEXT NOT NULL,
    on_stop TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    UNIQUE (project_id, iid),
    UNIQUE (job_id)
);
CREATE INDEX deployments_project_id ON deployments (project_id, id);
CREATE INDEX deployments_project_updated ON deployments (project_id, updated_at, id);
CREATE INDEX deployments_project_finished ON deployments (project_id, finished_at, id);
-- An environment's last successful deployment, and the deployments API's `environment` filter.
CREATE INDEX deployments_environment_status ON deployments (environment_id, status, finished_at, id);

-- Every job with `environment:` (any action), and the job status last reflected onto its
-- deployment and environment: processing only looks at rows whose job moved since.
CREATE TABLE job_environments (
    job_id BIGINT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    deployment_id BIGINT REFERENCES deployments (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    -- What a successful deployment writes onto the environment, expanded at link time.
    url TEXT,
    tier TEXT,
    auto_stop_in_seconds BIGINT,
    synced_status TEXT NOT NULL
);
CREATE INDEX job_environments_pipeline ON job_environments (pipeline_id);
CREATE INDEX job_environments_environment ON job_environments (environment_id, job_id);

-- How far environment linking got in each pipeline: jobs with a larger id (new pipelines,
-- retries) are still to be looked at.
CREATE TABLE pipeline_environment_scans (
    pipeline_id BIGINT PRIMARY KEY REFERENCES pipelines (id) ON DELETE CASCADE,
    last_job_id BIGINT NOT NULL
);

-- GitLab's "Prevent outdated deployment jobs" CI/CD settings; a project without a row has
-- the defaults (both on).
CREATE TABLE project_deployment_settings (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    forward_deployment_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    forward_deployment_rollback_allowed BOOLEAN NOT NULL DEFAULT TRUE
);
