-- The auto-stop pass (ci-yaml.md §3.19, GitLab's `Environment.auto_stoppable`) looks for
-- available environments whose `auto_stop_at` has passed, oldest first.
CREATE INDEX environments_auto_stop ON environments (state, auto_stop_at);
