-- Instance-wide settings (`GET`/`PUT /application/settings`), one row per setting. Values are
-- JSON so new settings need no migration.
CREATE TABLE application_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
