//! Groups: creation (the creator becomes Owner), lookup by id or full path, membership, and
//! the visibility limits a group puts on what it contains.

use pipewright_store::model::{Namespace, User};
use pipewright_store::{GroupListFilter, NewGroup, StoreError};

use crate::App;
use crate::abilities::{MAINTAINER, OWNER};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::projects::VISIBILITIES;

/// A group together with the caller's standing in it.
#[derive(Debug, Clone)]
pub struct GroupAccess {
    pub group: Namespace,
    /// The caller's access level through the group or its ancestors (0 = none).
    pub level: i32,
    pub admin: bool,
}

impl GroupAccess {
    pub fn can_admin_members(&self) -> bool {
        self.admin || self.level >= MAINTAINER
    }

    /// GitLab's default `subgroup_creation_level` is Maintainer.
    pub fn can_create_subgroup(&self) -> bool {
        self.admin || self.level >= MAINTAINER
    }
}

/// Rank of a visibility: private < internal < public.
pub fn visibility_rank(visibility: &str) -> usize {
    VISIBILITIES
        .iter()
        .position(|known| *known == visibility)
        .unwrap_or(0)
}

/// GitLab's validation error on `visibility_level`, with status 400.
fn visibility_error(text: String) -> Error {
    Error::Message {
        status: 400,
        message: serde_json::json!({ "visibility_level": [text] }),
    }
}

/// A project in `namespace` may not be more visible than its group.
pub fn check_project_visibility(namespace: &Namespace, visibility: &str) -> Result<()> {
    if namespace.kind == "group"
        && visibility_rank(visibility) > visibility_rank(&namespace.visibility)
    {
        return Err(visibility_error(format!(
            "{visibility} is not allowed in a {} group.",
            namespace.visibility
        )));
    }
    Ok(())
}

/// The highest access a user holds in a group (through it or an ancestor).
async fn group_level(app: &App, actor: &Actor, group: &Namespace) -> Result<i32> {
    match actor.user() {
        Some(user) => Ok(app
            .store
            .namespace_access_level(user.id, group.id)
            .await?
            .unwrap_or(0)),
        None => Ok(0),
    }
}

/// Whether the caller may see the group: public to all, internal to signed-in users,
/// private to members of it, of an ancestor, or of anything below it.
async fn can_read_group(app: &App, actor: &Actor, group: &Namespace, level: i32) -> Result<bool> {
    if actor.is_admin() || level > 0 || group.visibility == "public" {
        return Ok(true);
    }
    let Some(user) = actor.user() else {
        return Ok(false);
    };
    if group.visibility == "internal" {
        return Ok(true);
    }
    Ok(app
        .store
        .has_membership_at_or_below(user.id, group.id)
        .await?)
}

/// Resolves `:id` (numeric id or URL-decoded full path) to a group the caller can see;
/// anything else is `404 Group Not Found`.
pub async fn find_group(app: &App, actor: &Actor, id: &str) -> Result<GroupAccess> {
    let namespace = match id.parse::<i64>() {
        Ok(id) => app.store.namespace_by_id(id).await?,
        Err(_) => app.store.namespace_by_full_path(id).await?,
    };
    let group = namespace
        .filter(|namespace| namespace.kind == "group")
        .ok_or_else(|| Error::not_found("Group"))?;
    let level = group_level(app, actor, &group).await?;
    if !can_read_group(app, actor, &group, level).await? {
        return Err(Error::not_found("Group"));
    }
    Ok(GroupAccess {
        group,
        level,
        admin: actor.is_admin(),
    })
}

pub struct CreateGroup {
    pub name: String,
    pub path: String,
    pub visibility: Option<String>,
    pub parent_id: Option<i64>,
}

/// `POST /groups`: a top-level group (any signed-in user) or a subgroup (Maintainer of the
/// parent). The creator becomes the group's Owner.
pub async fn create_group(app: &App, actor: &Actor, params: CreateGroup) -> Result<Namespace> {
    let user: User = actor.require_user()?.clone();
    actor.require_write_scope()?;
    let visibility = params.visibility.unwrap_or_else(|| "private".into());
    if !VISIBILITIES.contains(&visibility.as_str()) {
        return Err(Error::Param(
            "visibility does not have a valid value".into(),
        ));
    }
    if !crate::projects::valid_path(&params.path) {
        return Err(save_error(
            "path",
            "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.', '.git' or '.atom'.",
        ));
    }
    let parent = match params.parent_id {
        Some(parent_id) => {
            let parent = find_group(app, actor, &parent_id.to_string()).await?;
            if !parent.can_create_subgroup() {
                return Err(Error::forbidden());
            }
            if visibility_rank(&visibility) > visibility_rank(&parent.group.visibility) {
                return Err(visibility_error(format!(
                    "{visibility} is not allowed since the parent group has a {} visibility.",
                    parent.group.visibility
                )));
            }
            Some(parent.group)
        }
        None => None,
    };
    let full_path = match &parent {
        Some(parent) => format!("{}/{}", parent.full_path, params.path),
        None => params.path.clone(),
    };
    let created = app
        .store
        .create_group(&NewGroup {
            name: params.name,
            path: params.path,
            full_path,
            parent_id: parent.map(|parent| parent.id),
            visibility,
            creator_id: user.id,
        })
        .await;
    match created {
        Ok(group) => Ok(group),
        Err(StoreError::Duplicate(_)) => Err(save_error("path", "has already been taken")),
        Err(err) => Err(err.into()),
    }
}

/// GitLab answers a group that fails validation with the Ruby inspection of its errors.
fn save_error(attribute: &str, text: &str) -> Error {
    Error::message(
        400,
        format!("Failed to save group {{:{attribute}=>[{text:?}]}}"),
    )
}

/// `POST /groups/:id/members`: Maintainers add members; only Owners add Owners.
pub async fn add_member(
    app: &App,
    actor: &Actor,
    access: &GroupAccess,
    user_id: i64,
    access_level: i32,
) -> Result<(User, i32)> {
    actor.require_write_scope()?;
    if !access.can_admin_members() {
        return Err(Error::forbidden());
    }
    if ![10, 15, 20, 30, 40, 50].contains(&access_level) {
        return Err(Error::Param(
            "access_level does not have a valid value".into(),
        ));
    }
    if access_level == OWNER && !(access.admin || access.level >= OWNER) {
        return Err(Error::forbidden());
    }
    let user = app
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| Error::not_found("User"))?;
    if app
        .store
        .member_access_level("namespace", access.group.id, user.id)
        .await?
        .is_some()
    {
        return Err(Error::message(409, "Member already exists"));
    }
    app.store
        .upsert_member("namespace", access.group.id, user.id, access_level)
        .await?;
    Ok((user, access_level))
}

/// The namespace and its ancestors' ids that are groups, nearest first (`[]` for a
/// personal namespace).
pub async fn group_chain_ids(app: &App, namespace_id: i64) -> Result<Vec<i64>> {
    Ok(app
        .store
        .namespace_chain(namespace_id)
        .await?
        .into_iter()
        .filter(|namespace| namespace.kind == "group")
        .map(|namespace| namespace.id)
        .collect())
}

/// `Parent / Child`: the names of the group's chain, outermost first.
pub async fn full_name(app: &App, group: &Namespace) -> Result<String> {
    let chain = app.store.namespace_chain(group.id).await?;
    let names: Vec<&str> = chain.iter().rev().map(|ns| ns.name.as_str()).collect();
    Ok(names.join(" / "))
}

#[derive(Debug, Default)]
pub struct ListGroups {
    pub all_available: Option<bool>,
    pub owned: bool,
    pub min_access_level: Option<i32>,
    pub top_level_only: bool,
    pub search: Option<String>,
    pub order_by: Option<String>,
    pub sort: Option<String>,
}

/// `GET /groups`: administrators see every group; users the groups they belong to (and
/// below), plus public and internal ones with `all_available`; anonymous callers public ones.
pub async fn list_groups(
    app: &App,
    actor: &Actor,
    params: ListGroups,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Namespace>, i64)> {
    let order_by = match params.order_by.as_deref() {
        None | Some("name") => "name",
        Some("path") => "path",
        Some("id") => "id",
        Some(_) => return Err(Error::Param("order_by does not have a valid value".into())),
    };
    let ascending = match params.sort.as_deref() {
        None | Some("asc") => true,
        Some("desc") => false,
        Some(_) => return Err(Error::Param("sort does not have a valid value".into())),
    };
    if let Some(level) = params.min_access_level
        && ![10, 15, 20, 30, 40, 50].contains(&level)
    {
        return Err(Error::Param(
            "min_access_level does not have a valid value".into(),
        ));
    }
    let user = actor.user();
    let min_access_level = if params.owned {
        Some(OWNER)
    } else {
        params.min_access_level
    };
    let filter = GroupListFilter {
        user_id: user.map(|user| user.id),
        all: actor.is_admin() && params.all_available.unwrap_or(true),
        all_available: params.all_available.unwrap_or(false),
        min_access_level: min_access_level.filter(|_| user.is_some()),
        top_level_only: params.top_level_only,
        search: params.search.filter(|text| !text.trim().is_empty()),
        order_by,
        ascending,
    };
    Ok(app
        .store
        .list_visible_groups(&filter, limit, offset)
        .await?)
}

/// The group, or the group and every subgroup below it.
pub async fn namespace_ids(
    app: &App,
    group: &Namespace,
    include_subgroups: bool,
) -> Result<Vec<i64>> {
    if include_subgroups {
        Ok(app.store.namespace_subtree_ids(group.id).await?)
    } else {
        Ok(vec![group.id])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(visibility: &str) -> Namespace {
        Namespace {
            id: 1,
            kind: "group".into(),
            name: "g".into(),
            path: "g".into(),
            full_path: "g".into(),
            parent_id: None,
            owner_id: None,
            visibility: visibility.into(),
            created_at: 0,
        }
    }

    #[test]
    fn projects_are_never_more_visible_than_their_group() {
        assert!(check_project_visibility(&group("private"), "private").is_ok());
        assert!(check_project_visibility(&group("internal"), "private").is_ok());
        assert!(check_project_visibility(&group("public"), "public").is_ok());
        let Err(Error::Message { status, message }) =
            check_project_visibility(&group("private"), "public")
        else {
            panic!("public project in a private group accepted");
        };
        assert_eq!(status, 400);
        assert_eq!(
            message,
            serde_json::json!({ "visibility_level": ["public is not allowed in a private group."] })
        );
        let mut personal = group("private");
        personal.kind = "user".into();
        assert!(check_project_visibility(&personal, "public").is_ok());
    }

    #[test]
    fn save_errors_read_like_ruby_hashes() {
        let Error::Message { message, .. } = save_error("path", "has already been taken") else {
            panic!("not a message");
        };
        assert_eq!(
            message,
            serde_json::json!("Failed to save group {:path=>[\"has already been taken\"]}")
        );
    }
}
