-- Pipelines as GitLab processes them (issue #4): delayed jobs, watchdogs and trigger tokens.

-- When a `scheduled` (when: delayed) job becomes due; set when processing reaches the job,
-- so the timer can find due jobs again after a restart.
ALTER TABLE jobs ADD COLUMN scheduled_at BIGINT;
CREATE INDEX jobs_scheduled ON jobs (scheduled_at) WHERE status = 'scheduled';

-- The watchdogs scan the few executing and pending jobs by their age. One partial index per
-- status: SQLite uses a partial index only when the query's WHERE implies the index's.
CREATE INDEX jobs_running_updated ON jobs (updated_at) WHERE status = 'running';
CREATE INDEX jobs_canceling_updated ON jobs (updated_at) WHERE status = 'canceling';
CREATE INDEX jobs_pending_updated ON jobs (updated_at) WHERE status = 'pending';
-- Running jobs past their timeout, by start time.
CREATE INDEX jobs_running_started ON jobs (started_at) WHERE status = 'running';

-- A new pipeline looks up the unfinished older pipelines of its ref (auto-cancel).
CREATE INDEX pipelines_project_ref ON pipelines (project_id, ref_name, id);

-- Trigger tokens (`POST /projects/:id/triggers`). GitLab shows the token again to its owner,
-- so it is kept as given; the hash column serves lookups.
CREATE TABLE pipeline_triggers (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    owner_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    description TEXT NOT NULL,
    token TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_used BIGINT
);
CREATE INDEX pipeline_triggers_project ON pipeline_triggers (project_id, id);

-- The trigger that started a pipeline (source `trigger`), for CI_TRIGGER_SHORT_TOKEN.
ALTER TABLE pipelines ADD COLUMN trigger_id BIGINT REFERENCES pipeline_triggers (id) ON DELETE SET NULL;

-- `workflow:auto_cancel:on_job_failure` of the pipeline's configuration (`all` or `none`),
-- read when one of its jobs fails.
ALTER TABLE pipelines ADD COLUMN auto_cancel_on_job_failure TEXT;
