-- Pipewright's first schema. Portable SQL: the PostgreSQL migration of the same number differs
-- only in id column types. Timestamps are UTC milliseconds since the epoch (BIGINT) so both
-- engines compare and index them the same way.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    -- GitLab looks usernames and emails up case-insensitively; a lower-cased copy keeps that indexable.
    username_lower TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    state TEXT NOT NULL DEFAULT 'active',
    bot BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

-- Tokens are stored as SHA-256 hex digests; the clear text is shown once at creation.
CREATE TABLE personal_access_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    expires_at TEXT,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX personal_access_tokens_user ON personal_access_tokens (user_id);

-- A user's personal namespace and groups share one table, as in GitLab, so a project's
-- full path is unique across both.
CREATE TABLE namespaces (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    full_path TEXT NOT NULL,
    full_path_lower TEXT NOT NULL UNIQUE,
    parent_id BIGINT REFERENCES namespaces (id),
    owner_id BIGINT REFERENCES users (id),
    visibility TEXT NOT NULL DEFAULT 'private',
    created_at BIGINT NOT NULL
);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    namespace_id BIGINT NOT NULL REFERENCES namespaces (id),
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    full_path TEXT NOT NULL,
    full_path_lower TEXT NOT NULL UNIQUE,
    description TEXT,
    visibility TEXT NOT NULL,
    default_branch TEXT NOT NULL,
    public_jobs BOOLEAN NOT NULL DEFAULT TRUE,
    ci_config_path TEXT NOT NULL DEFAULT '.gitlab-ci.yml',
    ci_pipeline_variables_minimum_override_role TEXT NOT NULL DEFAULT 'developer',
    job_token_scope_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    creator_id BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX projects_namespace ON projects (namespace_id);

-- Membership of a project or of a namespace (group); source_type is 'project' or 'namespace'.
CREATE TABLE members (
    source_type TEXT NOT NULL,
    source_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    access_level INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (source_type, source_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE pipelines (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    iid BIGINT NOT NULL,
    ref_name TEXT NOT NULL,
    tag BOOLEAN NOT NULL DEFAULT FALSE,
    sha TEXT NOT NULL,
    before_sha TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id),
    yaml_errors TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    -- Seconds during which at least one job ran (GitLab's pipeline duration), set on finish.
    duration BIGINT,
    UNIQUE (project_id, iid)
);
CREATE INDEX pipelines_project ON pipelines (project_id, id);

CREATE TABLE pipeline_variables (
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    variable_type TEXT NOT NULL DEFAULT 'env_var',
    PRIMARY KEY (pipeline_id, key)
);

CREATE TABLE runners (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    runner_type TEXT NOT NULL,
    tag_list TEXT NOT NULL DEFAULT '[]',
    run_untagged BOOLEAN NOT NULL DEFAULT TRUE,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    access_level TEXT NOT NULL DEFAULT 'not_protected',
    maximum_timeout BIGINT,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE,
    group_id BIGINT REFERENCES namespaces (id) ON DELETE CASCADE,
    creator_id BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    contacted_at BIGINT,
    name TEXT,
    version TEXT,
    revision TEXT,
    platform TEXT,
    architecture TEXT,
    executor TEXT
);

-- Builds and bridges (kind 'build' / 'bridge') in one table, as GitLab's ci_builds.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT 'build',
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    stage_idx INTEGER NOT NULL,
    status TEXT NOT NULL,
    when_kind TEXT NOT NULL,
    allow_failure BOOLEAN NOT NULL,
    -- JSON array of needed job names; NULL for a stage job.
    needs TEXT,
    -- JSON of everything the runner payload needs (scripts, image, variables...).
    options TEXT NOT NULL,
    tag_list TEXT NOT NULL DEFAULT '[]',
    ref_name TEXT NOT NULL,
    tag BOOLEAN NOT NULL DEFAULT FALSE,
    user_id BIGINT REFERENCES users (id),
    runner_id BIGINT REFERENCES runners (id) ON DELETE SET NULL,
    token_hash TEXT UNIQUE,
    cancel_gracefully BOOLEAN NOT NULL DEFAULT FALSE,
    retried BOOLEAN NOT NULL DEFAULT FALSE,
    timeout BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    queued_at BIGINT,
    started_at BIGINT,
    finished_at BIGINT,
    erased_at BIGINT,
    erased_by BIGINT REFERENCES users (id),
    failure_reason TEXT,
    exit_code INTEGER,
    coverage DOUBLE PRECISION,
    -- JSON array of {key, value} given when a manual job was played.
    job_variables TEXT
);
-- E1 lists a project's builds newest first, optionally filtered by status.
CREATE INDEX jobs_project_kind ON jobs (project_id, kind, id);
CREATE INDEX jobs_project_kind_status ON jobs (project_id, kind, status, id);
CREATE INDEX jobs_pipeline ON jobs (pipeline_id, id);
-- Runners scan pending jobs FIFO; a partial index keeps that scan tiny.
CREATE INDEX jobs_pending ON jobs (id) WHERE status = 'pending';
