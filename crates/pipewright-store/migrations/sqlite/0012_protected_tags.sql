-- Protected tags: a tag name or `*` wildcard pattern, and who may create matching tags
-- (GitLab's levels: 0 no one, 30 developers and up, 40 maintainers and up, 60 admins).
-- Jobs on protected tags count as jobs on protected refs.
CREATE TABLE protected_tags (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    create_access_level INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
