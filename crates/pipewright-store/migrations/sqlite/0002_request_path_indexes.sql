-- Indexes that request paths were missing (found by tests/query_plans.rs).

-- E1 with `ref=`: seek one ref's builds newest first. Without it SQLite walks every build of the
-- project and filters, so a ref with fewer builds than a page reads the whole project.
CREATE INDEX jobs_project_kind_ref ON jobs (project_id, kind, ref_name, id);

-- Creating a project without `namespace_id` looks up the creator's personal namespace by owner;
-- without it every namespace is read. Partial: groups are never looked up this way.
CREATE INDEX namespaces_user_owner ON namespaces (owner_id) WHERE kind = 'user';
