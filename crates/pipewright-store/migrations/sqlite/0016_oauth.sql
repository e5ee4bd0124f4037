-- OAuth 2 (GitLab's Doorkeeper tables, trimmed to what the API serves). Secrets and tokens are
-- stored as SHA-256 hex digests only; the clear text is shown once. Portable SQL.

CREATE TABLE oauth_applications (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    -- The public client id (`application_id`), looked up on every token request.
    uid TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    -- Space-separated scope names.
    scopes TEXT NOT NULL,
    confidential BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);

-- One access token and its refresh token. `application_id` is NULL for the resource owner
-- password grant without client credentials; `user_id` (and the refresh token) for the
-- client credentials grant. A refreshed or revoked token keeps its row
-- with `revoked_at` set, so a revoked token answers "revoked" rather than "unknown".
CREATE TABLE oauth_access_tokens (
    id INTEGER PRIMARY KEY,
    application_id BIGINT REFERENCES oauth_applications (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    refresh_token_hash TEXT UNIQUE,
    scopes TEXT NOT NULL,
    -- Lifetime in seconds from `created_at` (GitLab's 7200).
    expires_in BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oauth_access_tokens_user ON oauth_access_tokens (user_id);
CREATE INDEX oauth_access_tokens_application ON oauth_access_tokens (application_id);
