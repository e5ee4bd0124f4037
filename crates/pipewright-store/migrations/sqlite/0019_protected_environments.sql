-- Protected environments (GitLab EE, project level only): an environment name (exact, no
-- wildcards) and who may deploy to it. A job deploying to a protected environment may be
-- played, retried or cancelled only by a caller one of its deploy access levels lets
-- through. Portable SQL: the same statements run on PostgreSQL.
CREATE TABLE protected_environments (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- Stored and returned; deployment approvals are not implemented.
    required_approval_count INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Exactly one of `access_level` (30, 40, 60), `user_id` or `group_id` is set.
-- `group_inheritance_type`: 0 direct group membership only, 1 inherited groups too.
CREATE TABLE protected_environment_deploy_access_levels (
    id INTEGER PRIMARY KEY,
    protected_environment_id BIGINT NOT NULL REFERENCES protected_environments (id) ON DELETE CASCADE,
    access_level INTEGER,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT REFERENCES namespaces (id) ON DELETE CASCADE,
    group_inheritance_type INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX protected_environment_deploy_access_levels_environment
    ON protected_environment_deploy_access_levels (protected_environment_id, id);
