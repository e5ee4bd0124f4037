-- Downstream pipelines of bridge (trigger) jobs: GitLab's `ci_sources_pipelines`, reduced to
-- what Pipewright needs. A bridge triggers at most one pipeline (a retry is a new bridge) and
-- a pipeline has at most one upstream bridge, hence the two unique keys.
CREATE TABLE pipeline_links (
    bridge_id BIGINT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    upstream_pipeline_id BIGINT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    downstream_pipeline_id BIGINT NOT NULL UNIQUE REFERENCES pipelines (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
-- Walking up from a finished downstream pipeline uses the UNIQUE index above; listing the
-- children of a pipeline uses this one.
CREATE INDEX pipeline_links_upstream ON pipeline_links (upstream_pipeline_id);
