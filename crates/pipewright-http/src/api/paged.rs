//! Full offset pagination (with totals) for the small lists of the permission APIs.

use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use crate::pagination::{OffsetLinks, Page};
use crate::params::Params;

/// Answers one page of `total` items (`items` is already that page) with GitLab's headers;
/// `route` holds the route parameters the `Link` URLs repeat (`id`, ...).
pub(crate) fn page_response<T: Serialize>(
    external_url: &str,
    uri: &Uri,
    params: &Params,
    route: &[(&str, String)],
    page: Page,
    items: &[T],
    total: i64,
) -> Response {
    let mut link_params = params.map().clone();
    for (name, value) in route {
        link_params.insert((*name).to_owned(), Value::String(value.clone()));
    }
    let headers = OffsetLinks {
        external_url,
        uri,
        params: link_params,
        page,
        has_next: page.offset() + page.per_page < total,
        total: Some(total),
    }
    .headers();
    super::json_with(StatusCode::OK, headers, &items)
}

/// The slice of an in-memory list that a page covers.
pub(crate) fn slice<T>(items: Vec<T>, page: Page) -> Vec<T> {
    items
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(0))
        .collect()
}

/// Answers the page of a whole in-memory list a project route loaded, each item rendered
/// as its entity; the `Link` URLs repeat the project `id`.
pub(crate) fn project_list_response<T, E: Serialize>(
    external_url: &str,
    uri: &Uri,
    params: &Params,
    id: String,
    page: Page,
    items: Vec<T>,
    render: impl Fn(&T) -> E,
) -> Response {
    let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let entities: Vec<E> = slice(items, page).iter().map(render).collect();
    page_response(
        external_url,
        uri,
        params,
        &[("id", id)],
        page,
        &entities,
        total,
    )
}
