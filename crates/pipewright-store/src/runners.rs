use sqlx::FromRow;

use crate::error::corrupt;
use crate::model::Runner;
use crate::reader::{self, Columns};
use crate::{Store, StoreError, now_ms};

pub(crate) const RUNNER_COLUMNS: &str = "id, description, runner_type, tag_list, run_untagged, locked, access_level, maximum_timeout, paused, project_id, group_id, creator_id, created_at, contacted_at, name, version, revision, platform, architecture, executor";

#[derive(FromRow)]
pub(crate) struct RunnerRow {
    id: i64,
    description: String,
    runner_type: String,
    tag_list: String,
    run_untagged: bool,
    locked: bool,
    access_level: String,
    maximum_timeout: Option<i64>,
    paused: bool,
    project_id: Option<i64>,
    group_id: Option<i64>,
    creator_id: Option<i64>,
    created_at: i64,
    contacted_at: Option<i64>,
    name: Option<String>,
    version: Option<String>,
    revision: Option<String>,
    platform: Option<String>,
    architecture: Option<String>,
    executor: Option<String>,
}

impl TryFrom<RunnerRow> for Runner {
    type Error = StoreError;

    fn try_from(row: RunnerRow) -> Result<Self, StoreError> {
        Ok(Runner {
            tag_list: serde_json::from_str(&row.tag_list).map_err(corrupt)?,
            id: row.id,
            description: row.description,
            runner_type: row.runner_type,
            run_untagged: row.run_untagged,
            locked: row.locked,
            access_level: row.access_level,
            maximum_timeout: row.maximum_timeout,
            paused: row.paused,
            project_id: row.project_id,
            group_id: row.group_id,
            creator_id: row.creator_id,
            created_at: row.created_at,
            contacted_at: row.contacted_at,
            name: row.name,
            version: row.version,
            revision: row.revision,
            platform: row.platform,
            architecture: row.architecture,
            executor: row.executor,
        })
    }
}

impl RunnerRow {
    /// The row of a [`RUNNER_COLUMNS`] select on the read path, columns in that order.
    fn read(row: &rusqlite::Row<'_>) -> Result<RunnerRow, StoreError> {
        let mut c = Columns::new(row);
        Ok(RunnerRow {
            id: c.next()?,
            description: c.next()?,
            runner_type: c.next()?,
            tag_list: c.next()?,
            run_untagged: c.next()?,
            locked: c.next()?,
            access_level: c.next()?,
            maximum_timeout: c.next()?,
            paused: c.next()?,
            project_id: c.next()?,
            group_id: c.next()?,
            creator_id: c.next()?,
            created_at: c.next()?,
            contacted_at: c.next()?,
            name: c.next()?,
            version: c.next()?,
            revision: c.next()?,
            platform: c.next()?,
            architecture: c.next()?,
            executor: c.next()?,
        })
    }
}

/// Runners by id on a reader connection (one statement).
pub(crate) fn runners_by_ids(
    conn: &rusqlite::Connection,
    ids: &[i64],
) -> Result<Vec<Runner>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {RUNNER_COLUMNS} FROM runners WHERE id IN ({})",
        reader::placeholders(1, ids.len())
    );
    reader::query(conn, &sql, &reader::id_params(ids), |row| {
        Runner::try_from(RunnerRow::read(row)?)
    })
}

pub struct NewRunner {
    pub token_hash: String,
    pub description: String,
    pub runner_type: String,
    pub tag_list: Vec<String>,
    pub run_untagged: bool,
    pub locked: bool,
    pub access_level: String,
    pub maximum_timeout: Option<i64>,
    pub paused: bool,
    pub project_id: Option<i64>,
    pub group_id: Option<i64>,
    pub creator_id: Option<i64>,
}

/// What a runner tells about itself on each contact.
#[derive(Debug, Clone, Default)]
pub struct RunnerContact {
    pub name: Option<String>,
    pub version: Option<String>,
    pub revision: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
    pub executor: Option<String>,
}

impl Store {
    pub async fn create_runner(&self, new: &NewRunner) -> Result<Runner, StoreError> {
        let tag_list = serde_json::to_string(&new.tag_list).map_err(corrupt)?;
        let row: RunnerRow = sqlx::query_as(&format!(
            "INSERT INTO runners (token_hash, description, runner_type, tag_list, run_untagged, locked, access_level,
                maximum_timeout, paused, project_id, group_id, creator_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {RUNNER_COLUMNS}"
        ))
        .bind(&new.token_hash)
        .bind(&new.description)
        .bind(&new.runner_type)
        .bind(tag_list)
        .bind(new.run_untagged)
        .bind(new.locked)
        .bind(&new.access_level)
        .bind(new.maximum_timeout)
        .bind(new.paused)
        .bind(new.project_id)
        .bind(new.group_id)
        .bind(new.creator_id)
        .bind(now_ms())
        .fetch_one(&self.write)
        .await?;
        Runner::try_from(row)
    }

    /// The runner a token authenticates; cached until the next write to `runners`.
    pub async fn runner_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<Runner>, StoreError> {
        let generation = self.watch.runners.current();
        if let Some(runner) = self.caches.runner_by_token.get(token_hash, generation) {
            return Ok(Some(runner));
        }
        let row: Option<RunnerRow> = sqlx::query_as(&format!(
            "SELECT {RUNNER_COLUMNS} FROM runners WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        let runner = row.map(Runner::try_from).transpose()?;
        if let Some(runner) = &runner {
            self.caches
                .runner_by_token
                .put(token_hash, generation, runner);
        }
        Ok(runner)
    }

    pub async fn runners_by_ids(&self, ids: &[i64]) -> Result<Vec<Runner>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        self.readers
            .run(move |conn| runners_by_ids(conn, &ids))
            .await
    }

    /// Records a runner's contact and what it reported about itself.
    pub async fn touch_runner(&self, id: i64, contact: &RunnerContact) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runners SET contacted_at = $1,
                name = COALESCE($2, name), version = COALESCE($3, version), revision = COALESCE($4, revision),
                platform = COALESCE($5, platform), architecture = COALESCE($6, architecture),
                executor = COALESCE($7, executor)
             WHERE id = $8",
        )
        .bind(now_ms())
        .bind(&contact.name)
        .bind(&contact.version)
        .bind(&contact.revision)
        .bind(&contact.platform)
        .bind(&contact.architecture)
        .bind(&contact.executor)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
