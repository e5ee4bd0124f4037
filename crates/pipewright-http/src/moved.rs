//! Projects reached through the old path of a rename (jobs-api.md §1.4 step 4): GET and HEAD
//! answer 301 to the same URL with the numeric id, other methods 405. The handler's
//! `Error::Moved` leaves a [`MovedProject`] marker; this middleware, which knows the request,
//! turns it into the answer.

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use pipewright_core::App;

/// Marker extension on the response of a handler that hit a moved project.
#[derive(Debug, Clone, Copy)]
pub struct MovedProject(pub i64);

/// `path` with the segment after `/projects/` replaced by the project id.
fn rewrite_path(path: &str, project_id: i64) -> String {
    let Some(at) = path.find("/projects/") else {
        return path.to_owned();
    };
    let start = at + "/projects/".len();
    let end = path[start..]
        .find('/')
        .map_or(path.len(), |offset| start + offset);
    format!("{}{project_id}{}", &path[..start], &path[end..])
}

pub async fn rewrite(State(app): State<App>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().clone(), |original| original.0.clone());
    let mut response = next.run(request).await;
    let Some(MovedProject(project_id)) = response.extensions().get::<MovedProject>().copied()
    else {
        return response;
    };
    let (status, content_type, body) = if method == Method::GET || method == Method::HEAD {
        let mut url = format!(
            "{}{}",
            app.config.external_url,
            rewrite_path(uri.path(), project_id)
        );
        if let Some(query) = uri.query() {
            url.push('?');
            url.push_str(query);
        }
        if let Ok(value) = HeaderValue::from_str(&url) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        (
            StatusCode::MOVED_PERMANENTLY,
            "text/plain",
            format!("This resource has been moved permanently to {url}"),
        )
    } else {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "application/json",
            serde_json::json!({ "message": "Non GET methods are not allowed for moved projects" })
                .to_string(),
        )
    };
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    *response.body_mut() = Body::from(body);
    response
}

#[cfg(test)]
mod tests {
    use super::rewrite_path;

    #[test]
    fn the_project_segment_becomes_the_id() {
        assert_eq!(
            rewrite_path("/api/v4/projects/a%2Fb/jobs/3", 7),
            "/api/v4/projects/7/jobs/3"
        );
        assert_eq!(
            rewrite_path("/api/v4/projects/a%2Fb", 7),
            "/api/v4/projects/7"
        );
    }
}
