//! What independently written GitLab clients send and expect (issue #3: gitbeaker, the Ruby
//! `gitlab` gem, Perl's GitLab::API::v4; python-gitlab has its own script), pinned through
//! the real router so the client scripts in `scripts/` are not the only guard; and a
//! black-box conformance table of `jobs-api.md`'s check order for E1–E11: for each step,
//! the status and the exact body of the error that wins.

mod common;

use axum::http::StatusCode;
use common::{ClaimedJob, EXTERNAL_URL, ROOT_TOKEN, TestApp, TestRunner, TestUser};
use serde_json::{Value, json};

const GUEST: i64 = 10;
const REPORTER: i64 = 20;
const DEVELOPER: i64 = 30;

/// `build` and `long` are taken by the test runner (`build` succeeds, `long` keeps running,
/// so its job token is live); `manual` waits; `bridge` starts a child pipeline.
const YAML: &str = "\
build:
  script: echo build
long:
  script: sleep 1000
manual:
  script: echo manual
  when: manual
bridge:
  trigger:
    include: child.yml
";

/// A private project with `public_jobs: false` (GitLab's spec fixture), `main` unprotected,
/// a Developer, a Reporter, a Guest and a signed-in non-member.
struct Fixture {
    t: TestApp,
    project: i64,
    pipeline: i64,
    developer: TestUser,
    reporter: TestUser,
    guest: TestUser,
    outsider: TestUser,
    read_api: String,
    build: i64,
    running: ClaimedJob,
    manual: i64,
    bridge: i64,
}

impl Fixture {
    async fn new() -> Fixture {
        let t = TestApp::new().await;
        let project = t
            .create_project(ROOT_TOKEN, json!({ "name": "demo", "public_jobs": false }))
            .await["id"]
            .as_i64()
            .expect("project id");
        t.delete(&format!(
            "/api/v4/projects/{project}/protected_branches/main"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
        t.commit(
            ROOT_TOKEN,
            project,
            "main",
            json!([
                { "action": "create", "file_path": "child.yml", "content": "child:\n  script: echo child\n" },
                { "action": "create", "file_path": ".gitlab-ci.yml", "content": YAML },
            ]),
        )
        .await;
        let pipeline = t.latest_pipeline(ROOT_TOKEN, project).await["id"]
            .as_i64()
            .expect("pipeline id");
        let member = |name: &'static str, level: i64| {
            let t = &t;
            async move {
                let user = t.create_user(name).await;
                t.post(&format!("/api/v4/projects/{project}/members"))
                    .token(ROOT_TOKEN)
                    .json(json!({ "user_id": user.id, "access_level": level }))
                    .await
                    .expect_status(StatusCode::CREATED);
                user
            }
        };
        let developer = member("developer", DEVELOPER).await;
        let reporter = member("reporter", REPORTER).await;
        let guest = member("guest", GUEST).await;
        let outsider = t.create_user("outsider").await;
        let (_, read_api) = t.create_token(developer.id, &["read_api"], None).await;

        let runner: TestRunner = t
            .create_runner(
                ROOT_TOKEN,
                json!({ "runner_type": "project_type", "project_id": project }),
            )
            .await;
        let first = t.claim(&runner).await;
        let second = t.claim(&runner).await;
        let (build, running) = if first.payload["job_info"]["name"] == "build" {
            (first, second)
        } else {
            (second, first)
        };
        t.succeed(&build).await;
        let bridge = t
            .get(&format!(
                "/api/v4/projects/{project}/pipelines/{pipeline}/bridges"
            ))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .json()[0]["id"]
            .as_i64()
            .expect("bridge id");
        let manual = t.job_id(project, pipeline, "manual").await;
        Fixture {
            t,
            project,
            pipeline,
            developer,
            reporter,
            guest,
            outsider,
            read_api,
            build: build.id,
            running,
            manual,
            bridge,
        }
    }
}

/// Who sends the request.
#[derive(Clone, Copy, Debug)]
enum Who<'a> {
    Anonymous,
    Pat(&'a str),
    Bearer(&'a str),
    JobTokenHeader(&'a str),
}

/// One row of the table: a request and the answer GitLab gives.
struct Case<'a> {
    what: &'static str,
    method: &'static str,
    path: String,
    who: Who<'a>,
    body: Option<Value>,
    status: StatusCode,
    answer: Option<Value>,
}

fn case<'a>(
    what: &'static str,
    method: &'static str,
    path: String,
    who: Who<'a>,
    status: StatusCode,
    answer: Value,
) -> Case<'a> {
    Case {
        what,
        method,
        path,
        who,
        body: None,
        status,
        answer: Some(answer),
    }
}

async fn run(t: &TestApp, cases: Vec<Case<'_>>) {
    let mut failures = Vec::new();
    for case in cases {
        let mut request = match case.method {
            "GET" => t.get(&case.path),
            "POST" => t.post(&case.path),
            other => panic!("method {other}"),
        };
        request = match case.who {
            Who::Anonymous => request,
            Who::Pat(token) => request.token(token),
            Who::Bearer(token) => request.bearer(token),
            Who::JobTokenHeader(token) => request.job_token(token),
        };
        if let Some(body) = case.body {
            request = request.json(body);
        }
        let response = request.await;
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let body_ok = case
            .answer
            .as_ref()
            .is_none_or(|answer| matches(answer, &body));
        if response.status != case.status || !body_ok {
            failures.push(format!(
                "{}: {} {} -> {} {} (expected {} {})",
                case.what,
                case.method,
                case.path,
                response.status,
                String::from_utf8_lossy(&response.body),
                case.status,
                case.answer.map(|a| a.to_string()).unwrap_or_default(),
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// `actual` equals `expected`, except that an OAuth error body may carry more keys.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) if want.contains_key("error_description") => {
            want.iter().all(|(key, value)| got.get(key) == Some(value))
        }
        _ => expected == actual,
    }
}

fn message(text: &str) -> Value {
    json!({ "message": text })
}

fn error(text: &str) -> Value {
    json!({ "error": text })
}

const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;
const BAD_REQUEST: StatusCode = StatusCode::BAD_REQUEST;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
const OK: StatusCode = StatusCode::OK;
const CREATED: StatusCode = StatusCode::CREATED;

/// The OAuth-style body; its `scope` (the scopes registered for the route) is left out of
/// the comparison: `run` compares only the keys given here.
fn insufficient_scope() -> Value {
    json!({
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the access token.",
    })
}

/// jobs-api.md §1.5 and the per-endpoint "Check order" lines, one row per step.
#[tokio::test]
async fn jobs_api_check_order_table() {
    let f = Fixture::new().await;
    let p = |rest: &str| format!("/api/v4/projects/{}{rest}", f.project);
    let pipe = f.pipeline;
    let (build, manual, bridge) = (f.build, f.manual, f.bridge);
    let job_token = f.running.token.as_str();
    let dev = f.developer.token.as_str();
    let rep = f.reporter.token.as_str();
    let guest = f.guest.token.as_str();
    let outsider = f.outsider.token.as_str();
    let unauthorized = message("401 Unauthorized");
    let forbidden = message("403 Forbidden");
    let no_project = message("404 Project Not Found");
    let no_record = message("404 Not found");
    use Who::*;

    let mut cases = vec![
        // E1: 401 -> 400 -> project -> read_build -> keyset order.
        case(
            "E1 anonymous beats a bad param",
            "GET",
            p("/jobs?per_page=abc"),
            Anonymous,
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E1 unknown token",
            "GET",
            p("/jobs"),
            Pat("glpat-nothing"),
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E1 bad param beats unknown project",
            "GET",
            "/api/v4/projects/99999/jobs?scope[]=bogus".into(),
            Pat(ROOT_TOKEN),
            BAD_REQUEST,
            error("scope does not have a valid value"),
        ),
        case(
            "E1 per_page=0",
            "GET",
            p("/jobs?per_page=0"),
            Pat(ROOT_TOKEN),
            BAD_REQUEST,
            error("per_page has a value not allowed"),
        ),
        case(
            "E1 page=x",
            "GET",
            p("/jobs?page=x"),
            Pat(ROOT_TOKEN),
            BAD_REQUEST,
            error("page is invalid"),
        ),
        case(
            "E1 unknown project",
            "GET",
            "/api/v4/projects/99999/jobs".into(),
            Pat(ROOT_TOKEN),
            NOT_FOUND,
            no_project.clone(),
        ),
        case(
            "E1 non-member",
            "GET",
            p("/jobs"),
            Pat(outsider),
            NOT_FOUND,
            no_project.clone(),
        ),
        case(
            "E1 guest without public jobs",
            "GET",
            p("/jobs"),
            Pat(guest),
            FORBIDDEN,
            forbidden.clone(),
        ),
        case(
            "E1 keyset ascending",
            "GET",
            p("/jobs?pagination=keyset&sort=asc"),
            Pat(rep),
            StatusCode::METHOD_NOT_ALLOWED,
            error("Keyset pagination is not yet available for this type of request"),
        ),
        // E2: no auth step for GET (anonymous -> project lookup), but a bad token is 401.
        case(
            "E2 anonymous on a private project",
            "GET",
            p(&format!("/pipelines/{pipe}/jobs")),
            Anonymous,
            NOT_FOUND,
            no_project.clone(),
        ),
        case(
            "E2 unknown token",
            "GET",
            p(&format!("/pipelines/{pipe}/jobs")),
            Pat("glpat-nothing"),
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E2 pipeline_id=x",
            "GET",
            p("/pipelines/x/jobs"),
            Pat(ROOT_TOKEN),
            BAD_REQUEST,
            error("pipeline_id is invalid"),
        ),
        case(
            "E2 include_retried=maybe",
            "GET",
            p(&format!("/pipelines/{pipe}/jobs?include_retried=maybe")),
            Pat(ROOT_TOKEN),
            BAD_REQUEST,
            error("include_retried is invalid"),
        ),
        case(
            "E2 scope hash",
            "GET",
            p(&format!("/pipelines/{pipe}/jobs?scope[a]=success")),
            Pat(ROOT_TOKEN),
            BAD_REQUEST,
            error("scope does not have a valid value"),
        ),
        case(
            "E2 bad param beats unknown project",
            "GET",
            "/api/v4/projects/99999/pipelines/x/jobs".into(),
            Anonymous,
            BAD_REQUEST,
            error("pipeline_id is invalid"),
        ),
        case(
            "E2 guest without public jobs",
            "GET",
            p(&format!("/pipelines/{pipe}/jobs")),
            Pat(guest),
            FORBIDDEN,
            forbidden.clone(),
        ),
        case(
            "E2 unknown pipeline",
            "GET",
            p("/pipelines/99999/jobs"),
            Pat(rep),
            NOT_FOUND,
            no_record.clone(),
        ),
        // E3.
        case(
            "E3 anonymous on a private project",
            "GET",
            p(&format!("/pipelines/{pipe}/bridges")),
            Anonymous,
            NOT_FOUND,
            no_project.clone(),
        ),
        case(
            "E3 scope=bogus",
            "GET",
            p(&format!("/pipelines/{pipe}/bridges?scope=bogus")),
            Pat(ROOT_TOKEN),
            BAD_REQUEST,
            error("scope does not have a valid value"),
        ),
        case(
            "E3 guest without public jobs",
            "GET",
            p(&format!("/pipelines/{pipe}/bridges")),
            Pat(guest),
            FORBIDDEN,
            forbidden.clone(),
        ),
        case(
            "E3 unknown pipeline",
            "GET",
            p("/pipelines/99999/bridges"),
            Pat(rep),
            NOT_FOUND,
            no_record.clone(),
        ),
        // E4/E5: only a job token.
        case(
            "E4 anonymous",
            "GET",
            "/api/v4/job".into(),
            Anonymous,
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E4 a PAT is not a job token",
            "GET",
            "/api/v4/job".into(),
            Pat(dev),
            NOT_FOUND,
            message("404 Job Not Found"),
        ),
        case(
            "E4 unknown job token",
            "GET",
            "/api/v4/job".into(),
            JobTokenHeader("glcbt-nothing"),
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E5 anonymous",
            "GET",
            "/api/v4/job/allowed_agents".into(),
            Anonymous,
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E5 a PAT is not a job token",
            "GET",
            "/api/v4/job/allowed_agents".into(),
            Pat(dev),
            NOT_FOUND,
            message("404 Job Not Found"),
        ),
        // E6: job tokens are ignored (-> anonymous -> 401); bridges are not builds.
        case(
            "E6 job token header",
            "GET",
            p(&format!("/jobs/{build}")),
            JobTokenHeader(job_token),
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E6 job token as Bearer",
            "GET",
            p(&format!("/jobs/{build}")),
            Bearer(job_token),
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E6 job_id=x",
            "GET",
            p("/jobs/x"),
            Pat(ROOT_TOKEN),
            BAD_REQUEST,
            error("job_id is invalid"),
        ),
        case(
            "E6 non-member",
            "GET",
            p(&format!("/jobs/{build}")),
            Pat(outsider),
            NOT_FOUND,
            no_project.clone(),
        ),
        case(
            "E6 guest",
            "GET",
            p(&format!("/jobs/{build}")),
            Pat(guest),
            FORBIDDEN,
            forbidden.clone(),
        ),
        case(
            "E6 bridge id",
            "GET",
            p(&format!("/jobs/{bridge}")),
            Pat(rep),
            NOT_FOUND,
            no_record.clone(),
        ),
        case(
            "E6 unknown id",
            "GET",
            p("/jobs/99999"),
            Pat(rep),
            NOT_FOUND,
            no_record.clone(),
        ),
        // E7.
        case(
            "E7 anonymous",
            "GET",
            p(&format!("/jobs/{build}/trace")),
            Anonymous,
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E7 byte_offset=-1",
            "GET",
            p(&format!("/jobs/{build}/trace?byte_offset=-1")),
            Pat(rep),
            BAD_REQUEST,
            error("byte_offset does not have a valid value"),
        ),
        case(
            "E7 byte_limit=0",
            "GET",
            p(&format!("/jobs/{build}/trace?byte_limit=0")),
            Pat(rep),
            BAD_REQUEST,
            error("byte_limit does not have a valid value"),
        ),
        case(
            "E7 guest",
            "GET",
            p(&format!("/jobs/{build}/trace")),
            Pat(guest),
            FORBIDDEN,
            forbidden.clone(),
        ),
        case(
            "E7 bridge id",
            "GET",
            p(&format!("/jobs/{bridge}/trace")),
            Pat(rep),
            NOT_FOUND,
            no_record.clone(),
        ),
        // E8: project-level cancel_build comes before the lookup.
        case(
            "E8 anonymous",
            "POST",
            p(&format!("/jobs/{build}/cancel")),
            Anonymous,
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E8 job token header",
            "POST",
            p(&format!("/jobs/{build}/cancel")),
            JobTokenHeader(job_token),
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E8 read_api token",
            "POST",
            p(&format!("/jobs/{build}/cancel")),
            Pat(&f.read_api),
            FORBIDDEN,
            insufficient_scope(),
        ),
        case(
            "E8 force=maybe",
            "POST",
            p(&format!("/jobs/{build}/cancel?force=maybe")),
            Pat(dev),
            BAD_REQUEST,
            error("force is invalid"),
        ),
        case(
            "E8 non-member",
            "POST",
            p(&format!("/jobs/{build}/cancel")),
            Pat(outsider),
            NOT_FOUND,
            no_project.clone(),
        ),
        case(
            "E8 reporter, unknown id",
            "POST",
            p("/jobs/99999/cancel"),
            Pat(rep),
            FORBIDDEN,
            forbidden.clone(),
        ),
        case(
            "E8 developer, bridge id",
            "POST",
            p(&format!("/jobs/{bridge}/cancel")),
            Pat(dev),
            NOT_FOUND,
            no_record.clone(),
        ),
        case(
            "E8 force needs a maintainer",
            "POST",
            p(&format!("/jobs/{build}/cancel?force=true")),
            Pat(dev),
            FORBIDDEN,
            forbidden.clone(),
        ),
        // E9: the lookup comes before the ability.
        case(
            "E9 anonymous",
            "POST",
            p(&format!("/jobs/{build}/retry")),
            Anonymous,
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E9 job_id=x",
            "POST",
            p("/jobs/x/retry"),
            Pat(rep),
            BAD_REQUEST,
            error("job_id is invalid"),
        ),
        case(
            "E9 non-member",
            "POST",
            p(&format!("/jobs/{build}/retry")),
            Pat(outsider),
            NOT_FOUND,
            no_project.clone(),
        ),
        case(
            "E9 reporter, unknown id",
            "POST",
            p("/jobs/99999/retry"),
            Pat(rep),
            NOT_FOUND,
            no_record.clone(),
        ),
        case(
            "E9 reporter",
            "POST",
            p(&format!("/jobs/{build}/retry")),
            Pat(rep),
            FORBIDDEN,
            forbidden.clone(),
        ),
        case(
            "E9 running job",
            "POST",
            p(&format!("/jobs/{}/retry", f.running.id)),
            Pat(dev),
            FORBIDDEN,
            message("403 Forbidden - Job is not retryable"),
        ),
        // E10.
        case(
            "E10 anonymous",
            "POST",
            p(&format!("/jobs/{build}/erase")),
            Anonymous,
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E10 non-member",
            "POST",
            p(&format!("/jobs/{build}/erase")),
            Pat(outsider),
            NOT_FOUND,
            no_project.clone(),
        ),
        case(
            "E10 reporter, unknown id",
            "POST",
            p("/jobs/99999/erase"),
            Pat(rep),
            NOT_FOUND,
            no_record.clone(),
        ),
        case(
            "E10 bridge id",
            "POST",
            p(&format!("/jobs/{bridge}/erase")),
            Pat(dev),
            NOT_FOUND,
            no_record.clone(),
        ),
        case(
            "E10 reporter",
            "POST",
            p(&format!("/jobs/{build}/erase")),
            Pat(rep),
            FORBIDDEN,
            forbidden.clone(),
        ),
        case(
            "E10 running job",
            "POST",
            p(&format!("/jobs/{}/erase", f.running.id)),
            Pat(ROOT_TOKEN),
            FORBIDDEN,
            message("403 Forbidden - Job is not erasable!"),
        ),
        // E11: validation before the project; read_build before the lookup.
        case(
            "E11 anonymous",
            "POST",
            p(&format!("/jobs/{manual}/play")),
            Anonymous,
            UNAUTHORIZED,
            unauthorized.clone(),
        ),
        case(
            "E11 non-member",
            "POST",
            p(&format!("/jobs/{manual}/play")),
            Pat(outsider),
            NOT_FOUND,
            no_project.clone(),
        ),
        case(
            "E11 guest",
            "POST",
            p("/jobs/99999/play"),
            Pat(guest),
            FORBIDDEN,
            forbidden.clone(),
        ),
        case(
            "E11 reporter, unknown id",
            "POST",
            p("/jobs/99999/play"),
            Pat(rep),
            NOT_FOUND,
            no_record.clone(),
        ),
        case(
            "E11 reporter",
            "POST",
            p(&format!("/jobs/{manual}/play")),
            Pat(rep),
            FORBIDDEN,
            forbidden.clone(),
        ),
        case(
            "E11 not manual",
            "POST",
            p(&format!("/jobs/{build}/play")),
            Pat(dev),
            BAD_REQUEST,
            message("400 Bad request - Unplayable Job"),
        ),
    ];
    // A PAT and a job token together: the PAT wins, so GET /job has no job.
    cases.push(Case {
        what: "E4 PAT beats job_token param",
        method: "GET",
        path: format!("/api/v4/job?job_token={job_token}"),
        who: Pat(dev),
        body: None,
        status: NOT_FOUND,
        answer: Some(message("404 Job Not Found")),
    });
    // E11 validates job_variables_attributes before looking at the project.
    cases.push(Case {
        what: "E11 bad variables beat an unknown project",
        method: "POST",
        path: format!("/api/v4/projects/99999/jobs/{manual}/play"),
        who: Pat(dev),
        body: Some(json!({ "job_variables_attributes": [{ "key": "A" }] })),
        status: BAD_REQUEST,
        answer: Some(error("job_variables_attributes[0][value] is missing")),
    });
    // The successful row of each endpoint, so the table also shows who gets through.
    for (what, method, path, who, status) in [
        ("E1 reporter", "GET", p("/jobs"), Pat(rep), OK),
        (
            "E1 job token of this project",
            "GET",
            p("/jobs"),
            JobTokenHeader(job_token),
            OK,
        ),
        (
            "E2 reporter",
            "GET",
            p(&format!("/pipelines/{pipe}/jobs")),
            Pat(rep),
            OK,
        ),
        (
            "E3 reporter",
            "GET",
            p(&format!("/pipelines/{pipe}/bridges")),
            Pat(rep),
            OK,
        ),
        (
            "E4 job token header",
            "GET",
            "/api/v4/job".into(),
            JobTokenHeader(job_token),
            OK,
        ),
        (
            "E4 job token as Bearer",
            "GET",
            "/api/v4/job".into(),
            Bearer(job_token),
            OK,
        ),
        (
            "E4 job_token param",
            "GET",
            format!("/api/v4/job?job_token={job_token}"),
            Anonymous,
            OK,
        ),
        (
            "E4 token param",
            "GET",
            format!("/api/v4/job?token={job_token}"),
            Anonymous,
            OK,
        ),
        (
            "E1 job token as Bearer",
            "GET",
            p("/jobs"),
            Bearer(job_token),
            OK,
        ),
        (
            "E5 job token",
            "GET",
            "/api/v4/job/allowed_agents".into(),
            JobTokenHeader(job_token),
            OK,
        ),
        (
            "E6 PAT as Bearer",
            "GET",
            p(&format!("/jobs/{build}")),
            Bearer(rep),
            OK,
        ),
        (
            "E7 reporter",
            "GET",
            p(&format!("/jobs/{build}/trace")),
            Pat(rep),
            OK,
        ),
        (
            "E8 finished job: unchanged, still 201",
            "POST",
            p(&format!("/jobs/{build}/cancel")),
            Pat(dev),
            CREATED,
        ),
    ] {
        cases.push(Case {
            what,
            method,
            path,
            who,
            body: None,
            status,
            answer: None,
        });
    }
    run(&f.t, cases).await;
}

/// The Ruby gem (HTTParty) posts form-encoded bodies with Rails-style nested keys:
/// `actions[][action]=...` for commits, `scopes[]=api` for tokens and
/// `job_variables_attributes[][key]=...` for play; it sends tokens longer than 20
/// characters as `Authorization: Bearer`.
#[tokio::test]
async fn ruby_gem_form_bodies() {
    let f = Fixture::new().await;
    let (_, token) = {
        let response =
            f.t.post(&format!(
                "/api/v4/users/{}/personal_access_tokens",
                f.developer.id
            ))
            .token(ROOT_TOKEN)
            .form("name=rb&scopes[]=api")
            .await
            .expect_status(StatusCode::CREATED)
            .json();
        assert_eq!(response["scopes"], json!(["api"]));
        (
            response["id"].clone(),
            response["token"].as_str().expect("token").to_owned(),
        )
    };
    let commit =
        f.t.post(&format!(
            "/api/v4/projects/{}/repository/commits",
            f.project
        ))
        .bearer(&token)
        .form(
            "branch=feature&start_branch=main&commit_message=form&\
             actions[][action]=create&actions[][file_path]=FORM.txt&actions[][content]=a%0Ab",
        )
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(commit["title"], "form");
    let played =
        f.t.post(&format!(
            "/api/v4/projects/{}/jobs/{}/play",
            f.project, f.manual
        ))
        .bearer(&token)
        .form("job_variables_attributes[][key]=RELEASE&job_variables_attributes[][value]=v1")
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_eq!(played["status"], "pending");
    assert_eq!(played["user"]["username"], "developer");
    // The runner that takes the played job sees the variable.
    let runner =
        f.t.create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "project_type", "project_id": f.project }),
        )
        .await;
    let job = f.t.claim(&runner).await;
    assert_eq!(job.id, f.manual);
    assert_eq!(job.variable("RELEASE").as_deref(), Some("v1"));
}

/// gitbeaker and the Ruby gem page by following `Link: rel="next"`: gitbeaker re-sends the
/// link's whole query string (including the `id` route parameter GitLab puts there), the
/// Ruby gem requests the link's path and query as they are. Both must walk every job once.
#[tokio::test]
async fn following_link_headers_walks_every_job() {
    let f = Fixture::new().await;
    let all: Vec<i64> =
        f.t.get(&format!("/api/v4/projects/{}/jobs", f.project))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .jobs()
            .iter()
            .map(|job| job["id"].as_i64().expect("id"))
            .collect();
    // The child pipeline's job is a job of this project too.
    assert_eq!(all.len(), 4, "build, long, manual, child");
    for first in [
        format!("/api/v4/projects/{}/jobs?per_page=1", f.project),
        format!(
            "/api/v4/projects/{}/jobs?pagination=keyset&per_page=1&order_by=id&sort=desc",
            f.project
        ),
        format!(
            "/api/v4/projects/{}/pipelines/{}/jobs?per_page=1",
            f.project, f.pipeline
        ),
    ] {
        // The parent pipeline's list (E2) has everything but the child pipeline's job.
        let all: Vec<i64> = if first.contains("/pipelines/") {
            all[1..].to_vec()
        } else {
            all.clone()
        };
        let mut seen = Vec::new();
        let mut next = Some(first.clone());
        while let Some(path) = next.take() {
            let response =
                f.t.get(&path)
                    .token(ROOT_TOKEN)
                    .await
                    .expect_status(StatusCode::OK);
            seen.extend(
                response
                    .jobs()
                    .iter()
                    .map(|job| job["id"].as_i64().expect("id")),
            );
            next = response.header("link").and_then(|link| {
                link.split(", ")
                    .find(|part| part.ends_with("rel=\"next\""))
                    .and_then(|part| part.split('>').next())
                    .map(|url| {
                        url.trim_start_matches('<')
                            .trim_start_matches(EXTERNAL_URL)
                            .to_owned()
                    })
            });
            assert!(
                seen.len() <= all.len(),
                "{first}: pages never end: {seen:?}"
            );
        }
        assert_eq!(seen, all, "{first}");
    }
}
