-- Resource groups (ci-yaml.md §3.18): one row per project and key, created when a job of the
-- group first waits; `process_mode` (unordered, oldest_first, newest_first,
-- newest_ready_first) is set through the API.
CREATE TABLE resource_groups (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    process_mode TEXT NOT NULL DEFAULT 'unordered',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, key)
);
