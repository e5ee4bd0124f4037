//! The statements of pipeline processing (core `processing`): what a pass needs to know about
//! a pipeline's latest jobs, read through the writer so a decision never rests on a stale
//! snapshot, and the pass's transitions written in one transaction.
//!
//! Processing runs after every job update, so its reads are sized for pipelines of hundreds
//! of jobs: a grouped summary (one row per stage × status) decides whether a pass can move
//! anything at all, and a pass reads only the columns it decides on.

use pipewright_domain::{Status, When};
use sqlx::FromRow;

use crate::error::corrupt;
use crate::{Store, StoreError};

/// Latest jobs of a pipeline sharing a stage, status and the other grouping flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusGroup {
    pub stage_idx: i32,
    pub status: Status,
    pub allow_failure: bool,
    /// Jobs with `needs:` (DAG jobs).
    pub dag: bool,
    pub bridge: bool,
    /// Some job's options mention `resource_group` (a superset of the jobs that have one).
    pub may_have_resource_group: bool,
    pub count: i64,
}

/// A latest job as a processing pass sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub stage_idx: i32,
    pub status: Status,
    pub when: When,
    pub allow_failure: bool,
    pub needs: Option<Vec<String>>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The tags as stored (a JSON array), read only for the jobs a pass enqueues.
    pub tag_list_json: String,
    /// The options JSON, only for the jobs whose options processing may need to read
    /// (`resource_group`, `start_in`); `None` for all others.
    pub options: Option<String>,
}

/// One `created` job moving on (the `from` of every processing transition is `created`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedTransition {
    pub id: i64,
    pub to: Status,
    /// `scheduled_at` for a job becoming `scheduled`.
    pub scheduled_at: Option<i64>,
}

#[derive(FromRow)]
struct GroupRow {
    stage_idx: i32,
    status: String,
    allow_failure: bool,
    dag: bool,
    bridge: bool,
    resource_group: bool,
    count: i64,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    kind: String,
    name: String,
    stage_idx: i32,
    status: String,
    when_kind: String,
    allow_failure: bool,
    needs: Option<String>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    tag_list: String,
    options: Option<String>,
}

/// Written as a JSON string in `options` when the job has a resource group (an absent group
/// is not serialised), so `LIKE` finds a superset of those jobs.
const RESOURCE_GROUP_LIKE: &str = "options LIKE '%\"resource_group\"%'";

/// IN lists are written in chunks of this many ids.
const IN_CHUNK: usize = 500;

/// `SELECT <processing columns> FROM jobs WHERE <latest jobs of the pipeline>`, to extend.
fn rows_query(pipeline_id: i64) -> sqlx::QueryBuilder<'static, sqlx::Sqlite> {
    let mut query = sqlx::QueryBuilder::new(format!(
        "SELECT id, kind, name, stage_idx, status, when_kind, allow_failure, needs, started_at,
            finished_at, tag_list,
            CASE WHEN {RESOURCE_GROUP_LIKE} OR when_kind = 'delayed' THEN options END AS options
         FROM jobs WHERE retried = FALSE AND pipeline_id = "
    ));
    query.push_bind(pipeline_id);
    query
}

impl TryFrom<Row> for ProcessingRow {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        Ok(ProcessingRow {
            needs: row
                .needs
                .map(|json| serde_json::from_str::<Vec<String>>(&json))
                .transpose()
                .map_err(corrupt)?,
            status: row.status.parse().map_err(corrupt)?,
            when: row.when_kind.parse::<When>().map_err(corrupt)?,
            id: row.id,
            kind: row.kind,
            name: row.name,
            stage_idx: row.stage_idx,
            allow_failure: row.allow_failure,
            started_at: row.started_at,
            finished_at: row.finished_at,
            tag_list_json: row.tag_list,
            options: row.options,
        })
    }
}

impl Store {
    /// The latest jobs of a pipeline grouped by stage, status, `allow_failure`, DAG and bridge:
    /// a handful of rows whatever the pipeline's size.
    pub async fn pipeline_status_summary(
        &self,
        pipeline_id: i64,
    ) -> Result<Vec<StatusGroup>, StoreError> {
        let rows: Vec<GroupRow> = sqlx::query_as(&format!(
            "SELECT stage_idx, status, allow_failure, needs IS NOT NULL AS dag,
                kind = 'bridge' AS bridge, MAX({RESOURCE_GROUP_LIKE}) AS resource_group,
                COUNT(*) AS count
             FROM jobs WHERE pipeline_id = $1 AND retried = FALSE
             GROUP BY stage_idx, status, allow_failure, needs IS NOT NULL, kind = 'bridge'"
        ))
        .bind(pipeline_id)
        .fetch_all(&self.write)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(StatusGroup {
                    stage_idx: row.stage_idx,
                    status: row.status.parse().map_err(corrupt)?,
                    allow_failure: row.allow_failure,
                    dag: row.dag,
                    bridge: row.bridge,
                    may_have_resource_group: row.resource_group,
                    count: row.count,
                })
            })
            .collect()
    }

    /// The latest jobs of a pipeline in creation order, with only what processing reads.
    pub async fn processing_rows(
        &self,
        pipeline_id: i64,
    ) -> Result<Vec<ProcessingRow>, StoreError> {
        let mut query = rows_query(pipeline_id);
        query.push(" ORDER BY id");
        let rows: Vec<Row> = query.build_query_as().fetch_all(&self.write).await?;
        rows.into_iter().map(ProcessingRow::try_from).collect()
    }

    /// The `created` latest jobs whose `needs` name `name` (a probe on the pipeline's rows,
    /// returning only those).
    pub async fn created_dependents(
        &self,
        pipeline_id: i64,
        name: &str,
    ) -> Result<Vec<ProcessingRow>, StoreError> {
        // `needs` is stored as a JSON array of strings, so the name appears JSON-quoted.
        let quoted = serde_json::to_string(name).map_err(corrupt)?;
        let mut query = rows_query(pipeline_id);
        query
            .push(" AND status = 'created' AND needs LIKE ")
            .push_bind(format!("%{}%", escape_like(&quoted)))
            .push(" ESCAPE '\\' ORDER BY id");
        let rows: Vec<Row> = query.build_query_as().fetch_all(&self.write).await?;
        let rows: Vec<ProcessingRow> = rows
            .into_iter()
            .map(ProcessingRow::try_from)
            .collect::<Result<_, _>>()?;
        // LIKE may match the name inside a longer one; the parsed needs decide.
        Ok(rows
            .into_iter()
            .filter(|row| {
                row.needs
                    .as_ref()
                    .is_some_and(|needs| needs.iter().any(|need| need == name))
            })
            .collect())
    }

    /// The latest jobs of a pipeline with one of `names`.
    pub async fn processing_rows_named(
        &self,
        pipeline_id: i64,
        names: &[String],
    ) -> Result<Vec<ProcessingRow>, StoreError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = rows_query(pipeline_id);
        query.push(" AND name IN (");
        let mut separated = query.separated(", ");
        for name in names {
            separated.push_bind(name.clone());
        }
        query.push(") ORDER BY id");
        let rows: Vec<Row> = query.build_query_as().fetch_all(&self.write).await?;
        rows.into_iter().map(ProcessingRow::try_from).collect()
    }

    /// Applies a pass's transitions in one transaction, one statement per target status, each
    /// a compare-and-set on `created` (`queued_at` set on entering `pending`, as the state
    /// machine does). Returns the ids that moved; the others left `created` meanwhile.
    pub async fn apply_created_transitions(
        &self,
        transitions: &[CreatedTransition],
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        if transitions.is_empty() {
            return Ok(Vec::new());
        }
        let mut targets: Vec<Status> = transitions.iter().map(|t| t.to).collect();
        targets.sort_by_key(|status| status.as_str());
        targets.dedup();
        let mut moved = Vec::with_capacity(transitions.len());
        let mut tx = self.write.begin().await?;
        for to in targets {
            let ids: Vec<i64> = transitions
                .iter()
                .filter(|t| t.to == to)
                .map(|t| t.id)
                .collect();
            for chunk in ids.chunks(IN_CHUNK) {
                let mut query = sqlx::QueryBuilder::new("UPDATE jobs SET status = ");
                query
                    .push_bind(to.as_str())
                    .push(", updated_at = ")
                    .push_bind(now);
                if to == Status::Pending {
                    query.push(", queued_at = ").push_bind(now);
                }
                query.push(" WHERE status = 'created' AND id IN (");
                let mut separated = query.separated(", ");
                for id in chunk {
                    separated.push_bind(*id);
                }
                query.push(") RETURNING id");
                let done: Vec<i64> = query.build_query_scalar().fetch_all(&mut *tx).await?;
                moved.extend(done);
            }
        }
        for transition in transitions {
            if let Some(at) = transition.scheduled_at
                && moved.contains(&transition.id)
            {
                sqlx::query("UPDATE jobs SET scheduled_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(transition.id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(moved)
    }
}

/// `text` as a literal inside a `LIKE ... ESCAPE '\'` pattern.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_patterns_match_names_literally() {
        assert_eq!(escape_like(r#""a_b%c\d""#), r#""a\_b\%c\\d""#);
    }
}
