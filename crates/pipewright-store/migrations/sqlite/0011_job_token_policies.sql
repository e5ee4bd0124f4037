-- Fine-grained CI/CD job token permissions on allowlist entries (GitLab's
-- `default_permissions` and `job_token_policies` of its scope links). An entry with default
-- permissions gives the job's user their normal role; otherwise only the listed policies
-- (`read_jobs`, `read_pipelines`, ...), kept as a JSON array of names.
ALTER TABLE job_token_project_allowlist ADD COLUMN default_permissions BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE job_token_project_allowlist ADD COLUMN job_token_policies TEXT NOT NULL DEFAULT '[]';
ALTER TABLE job_token_group_allowlist ADD COLUMN default_permissions BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE job_token_group_allowlist ADD COLUMN job_token_policies TEXT NOT NULL DEFAULT '[]';
