-- Permissions beyond plain membership: protected branches, the CI/CD job token scope,
-- redirects left behind by renames, Kubernetes agents. Groups reuse `namespaces`
-- (kind 'group') and `members` (source_type 'namespace') from 0001.

-- One row per protected branch name or wildcard pattern (`release/*`). Access levels are
-- GitLab's: 0 no one, 30 developers (and up), 40 maintainers (and up), 60 admins.
CREATE TABLE protected_branches (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    push_access_level INTEGER NOT NULL,
    merge_access_level INTEGER NOT NULL,
    allow_force_push BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Inbound job token scope: whether only allowlisted projects' job tokens may reach a
-- project. GitLab turns it on for every new project.
ALTER TABLE projects ADD COLUMN ci_inbound_job_token_scope_enabled BOOLEAN NOT NULL DEFAULT TRUE;

-- `project_id` accepts job tokens of jobs running in `source_project_id`.
CREATE TABLE job_token_project_allowlist (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    source_project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, source_project_id)
);

-- `project_id` accepts job tokens of jobs in any project under `group_id`.
CREATE TABLE job_token_group_allowlist (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, group_id)
);

-- Old full paths of renamed projects; a lookup by an old path answers 301/405.
-- A new project taking an old path removes the redirect (the live path wins).
CREATE TABLE redirect_routes (
    id INTEGER PRIMARY KEY,
    source_type TEXT NOT NULL,
    source_id BIGINT NOT NULL,
    path TEXT NOT NULL,
    path_lower TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX redirect_routes_source ON redirect_routes (source_type, source_id);

CREATE TABLE cluster_agents (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_by_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Group lookups by parent (subgroups) and project lists by visibility.
CREATE INDEX namespaces_parent ON namespaces (parent_id);
CREATE INDEX projects_visibility ON projects (visibility, id);
