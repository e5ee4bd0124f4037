-- Project feature access levels (GitLab's `project_features`), for the two features the
-- Jobs API depends on: CI/CD (`builds`) and the repository. GitLab's values: 0 disabled,
-- 10 private (project members only), 20 enabled (everyone with access). New projects get
-- both enabled, as in GitLab.
ALTER TABLE projects ADD COLUMN builds_access_level INTEGER NOT NULL DEFAULT 20;
ALTER TABLE projects ADD COLUMN repository_access_level INTEGER NOT NULL DEFAULT 20;
