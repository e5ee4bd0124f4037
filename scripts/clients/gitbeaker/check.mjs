// Drives a running Pipewright server with the real gitbeaker client (@gitbeaker/rest) through
// the platform API (users, tokens, groups, members, projects, commits, protected branches,
// runners, pipelines) and every Jobs API endpoint.
//
// Usage: node check.mjs <server url> <admin token>
// Exits non-zero at the first assertion that fails. Creates its own users, group and project.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Gitlab, GitbeakerRequestError } from "@gitbeaker/rest";

const [url, adminToken] = process.argv.slice(2);
if (!url || !adminToken) {
  console.error("usage: node check.mjs <server url> <admin token>");
  process.exit(2);
}

const CI_YAML = `
stages: [build, test, deploy]
build:
  stage: build
  script:
    - echo "GITBEAKER-MARKER $CI_JOB_NAME"
flaky:
  stage: build
  allow_failure: true
  script:
    - exit 4
external:
  stage: build
  tags: [gitbeaker-external]
  script:
    - echo never run by the built-in runner
slow:
  stage: test
  script:
    - sleep 120
release:
  stage: deploy
  when: manual
  script:
    - echo "RELEASE-$RELEASE_NAME"
`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function wait(what, predicate, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

// Asserts that `promise` fails with an HTTP error of `status` whose message/error is `description`.
async function rejects(promise, status, description) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof GitbeakerRequestError, `not a request error: ${err}`);
    assert.equal(err.cause.response.status, status, err.cause.description);
    if (description !== undefined) assert.equal(err.cause.description, description);
    return;
  }
  assert.fail(`expected HTTP ${status} ${description ?? ""}`);
}

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// The Job entity of jobs-api.md §5.1: keys, types and the conditional keys.
function assertJob(job, { pipelineId, projectId, name } = {}) {
  for (const key of [
    "id", "status", "stage", "name", "ref", "tag", "coverage", "allow_failure", "created_at",
    "started_at", "finished_at", "erased_at", "duration", "queued_duration", "user", "commit",
    "pipeline", "web_url", "project", "artifacts", "runner", "artifacts_expire_at", "archived",
    "tag_list",
  ]) {
    assert.ok(key in job, `job ${job.id} has no ${key}`);
  }
  assert.equal(typeof job.id, "number");
  assert.equal(typeof job.tag, "boolean");
  assert.equal(typeof job.allow_failure, "boolean");
  assert.match(job.created_at, ISO_MS);
  assert.equal("failure_reason" in job, job.status === "failed", `failure_reason on ${job.status}`);
  assert.ok(Array.isArray(job.artifacts) && Array.isArray(job.tag_list));
  assert.equal(typeof job.project.ci_job_token_scope_enabled, "boolean");
  assert.match(job.web_url, new RegExp(`/-/jobs/${job.id}$`));
  assert.equal(job.commit.id.length, 40);
  assert.equal(job.commit.short_id, job.commit.id.slice(0, 8));
  assert.match(job.pipeline.sha, /^[0-9a-f]{40}$/);
  if (pipelineId !== undefined) assert.equal(job.pipeline.id, pipelineId);
  if (projectId !== undefined) assert.equal(job.pipeline.project_id, projectId);
  if (name !== undefined) assert.equal(job.name, name);
  if (job.started_at !== null) assert.equal(typeof job.duration, "number");
}

async function main() {
  const admin = new Gitlab({ host: url, token: adminToken });
  const me = await admin.Users.showCurrentUser();
  assert.equal(me.username, "root");
  assert.equal(me.is_admin, true);

  // Users and their personal access tokens.
  const suffix = randomBytes(4).toString("hex");
  const owner = await admin.Users.create({
    username: `gb-owner-${suffix}`,
    name: "Owner",
    email: `gb-owner-${suffix}@example.com`,
    password: `pw-${suffix}-long-enough`,
  });
  const developer = await admin.Users.create({
    username: `gb-dev-${suffix}`,
    name: "Developer",
    email: `gb-dev-${suffix}@example.com`,
  });
  const reporter = await admin.Users.create({
    username: `gb-rep-${suffix}`,
    name: "Reporter",
    email: `gb-rep-${suffix}@example.com`,
  });
  const found = await admin.Users.all({ username: developer.username });
  assert.deepEqual(found.map((u) => u.id), [developer.id]);
  const ownerToken = await admin.Users.createPersonalAccessToken(owner.id, "gb", ["api"]);
  assert.match(ownerToken.token, /^glpat-/);
  assert.deepEqual(ownerToken.scopes, ["api"]);
  const devToken = await admin.PersonalAccessTokens.create(developer.id, "gb", ["api"]);
  const repToken = await admin.PersonalAccessTokens.create(reporter.id, "gb", ["api"]);
  const readOnly = await admin.PersonalAccessTokens.create(developer.id, "ro", ["read_api"]);

  const gl = new Gitlab({ host: url, token: ownerToken.token });
  const dev = new Gitlab({ host: url, token: devToken.token });
  const rep = new Gitlab({ host: url, token: repToken.token });
  const ro = new Gitlab({ host: url, token: readOnly.token });
  assert.equal((await gl.Users.showCurrentUser()).id, owner.id);

  // A group owned by `owner`, with the developer as a group member (inherited by projects).
  const group = await gl.Groups.create(`GB ${suffix}`, `gb-${suffix}`, { visibility: "private" });
  assert.equal(group.full_path, `gb-${suffix}`);
  await gl.GroupMembers.add(group.id, 30, { userId: developer.id });
  assert.equal((await gl.Groups.show(group.id)).id, group.id);

  const project = await gl.Projects.create({ name: `jobs-${suffix}`, namespaceId: group.id });
  assert.equal(project.path_with_namespace, `gb-${suffix}/jobs-${suffix}`);
  assert.equal(project.default_branch, "main");
  const member = await gl.ProjectMembers.add(project.id, 20, { userId: reporter.id });
  assert.equal(member.access_level, 20);
  const byPath = await gl.Projects.show(project.path_with_namespace);
  assert.equal(byPath.id, project.id);

  // A project runner the test drives itself through the runner protocol.
  const runner = await gl.Users.createCIRunner("project_type", {
    projectId: project.id,
    description: "gitbeaker",
    tagList: ["gitbeaker-external"],
  });
  assert.match(runner.token, /^glrt-/);
  const runners = await gl.Runners.all({ projectId: project.id });
  assert.ok(runners.some((r) => r.id === runner.id && r.description === "gitbeaker"));

  const commit = await gl.Commits.create(project.id, "main", "add CI", [
    { action: "create", filePath: ".gitlab-ci.yml", content: CI_YAML },
  ]);
  assert.equal(commit.title, "add CI");
  const pipeline = await wait("the push pipeline", async () => {
    const list = await gl.Pipelines.all(project.id);
    return list.find((p) => p.sha === commit.id);
  });
  assert.equal(pipeline.source, "push");
  assert.equal(pipeline.ref, "main");

  const pipelineJobs = (pipelineId, options = {}) =>
    gl.Jobs.all(project.id, { pipelineId, ...options });
  const jobNamed = async (name, pipelineId = pipeline.id) => {
    const job = (await pipelineJobs(pipelineId)).find((j) => j.name === name);
    assert.ok(job, `no job ${name}`);
    return gl.Jobs.show(project.id, job.id);
  };
  const statusOf = async (name, pipelineId) => (await jobNamed(name, pipelineId)).status;

  await wait("build to succeed", async () => (await statusOf("build")) === "success");
  const flaky = await wait("flaky to fail", async () => {
    const job = await jobNamed("flaky");
    return job.status === "failed" && job;
  });
  assertJob(flaky, { pipelineId: pipeline.id, projectId: project.id, name: "flaky" });
  assert.equal(flaky.failure_reason, "script_failure");
  assert.equal(flaky.allow_failure, true);
  const build = await jobNamed("build");
  assertJob(build, { pipelineId: pipeline.id, name: "build" });
  assert.equal(build.user.username, owner.username);
  assert.equal(build.runner.is_shared, true);
  assert.ok(build.artifacts.some((a) => a.file_type === "trace" && a.filename === "job.log"));
  const log = await gl.Jobs.showLog(project.id, build.id);
  assert.equal(typeof log, "string");
  assert.ok(log.includes("GITBEAKER-MARKER build"), log);
  const partial = await gl.Jobs.showLog(project.id, build.id, { byteOffset: 0, byteLimit: 3 });
  assert.equal(partial, log.slice(0, 3));

  // The tagged job waits for our runner: take it through the runner protocol, then use its job
  // token with gitbeaker (GET /job, GET /job/allowed_agents, the job list).
  const external = await jobNamed("external");
  assert.equal(external.status, "pending");
  assert.deepEqual(external.tag_list, ["gitbeaker-external"]);
  const request = await fetch(`${url}/api/v4/jobs/request`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: runner.token, info: { name: "gitbeaker-check", features: {} } }),
  });
  assert.equal(request.status, 201);
  const payload = await request.json();
  assert.equal(payload.id, external.id);
  const jobClient = new Gitlab({ host: url, jobToken: payload.token });
  // gitbeaker 43 sends the job token from its auth headers but checks for it in the plain
  // headers before GET /job; put it in both.
  jobClient.Jobs.headers["job-token"] = payload.token;
  const current = await jobClient.Jobs.showConnectedJob();
  assertJob(current, { pipelineId: pipeline.id, name: "external" });
  assert.equal(current.status, "running");
  assert.equal(current.runner.id, runner.id);
  const agents = await jobClient.Jobs.showConnectedJobK8Agents();
  assert.deepEqual(agents.allowed_agents, []);
  assert.equal(agents.job.id, external.id);
  assert.equal(agents.pipeline.id, pipeline.id);
  assert.deepEqual(agents.project, { id: project.id, groups: [{ id: group.id }] });
  assert.deepEqual(agents.user.roles_in_project, [
    "guest", "planner", "reporter", "developer", "maintainer", "owner",
  ]);
  const viaJobToken = await jobClient.Jobs.all(project.id, { scope: ["running"] });
  assert.ok(viaJobToken.some((j) => j.id === external.id));
  // A personal access token is not a job token: 404 Job Not Found.
  await rejects(gl.Jobs.requester.get("job", {}), 404, "404 Job Not Found");
  const finish = await fetch(`${url}/api/v4/jobs/${external.id}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: payload.token, state: "success" }),
  });
  assert.equal(finish.status, 200);
  await rejects(jobClient.Jobs.showConnectedJob(), 401, "401 Unauthorized");
  assert.equal((await jobNamed("external")).status, "success");

  const slow = await wait("slow to run", async () => {
    const job = await jobNamed("slow");
    return job.status === "running" && job;
  });
  assert.equal(typeof slow.duration, "number");

  // Scopes, offset pagination (followed through the Link header) and keyset pagination.
  const failed = await gl.Jobs.all(project.id, { scope: ["failed"] });
  assert.deepEqual(failed.map((j) => j.name), ["flaky"]);
  const finished = await gl.Jobs.all(project.id, { scope: ["success", "failed"] });
  assert.deepEqual(finished.map((j) => j.name).sort(), ["build", "external", "flaky"]);
  const single = await gl.Jobs.all(project.id, { scope: "running" });
  assert.deepEqual(single.map((j) => j.name), ["slow"]);
  await rejects(gl.Jobs.all(project.id, { scope: ["bogus"] }), 400, "scope does not have a valid value");
  const all = await gl.Jobs.all(project.id);
  const allIds = all.map((j) => j.id);
  assert.deepEqual([...allIds].sort((a, b) => b - a), allIds);
  assert.equal(allIds.length, 5);
  all.forEach((j) => assertJob(j, { pipelineId: pipeline.id }));
  const paged = await gl.Jobs.all(project.id, { perPage: 2, showExpanded: true });
  assert.deepEqual(paged.data.map((j) => j.id), allIds);
  assert.ok(Number.isNaN(paged.paginationInfo.total), "project job lists send no X-Total");
  const keyset = await gl.Jobs.all(project.id, {
    pagination: "keyset",
    perPage: 2,
    orderBy: "id",
    sort: "desc",
  });
  assert.deepEqual(keyset.map((j) => j.id), allIds);
  await rejects(
    gl.Jobs.all(project.id, { pagination: "keyset", orderBy: "id", sort: "asc" }),
    405,
    "Keyset pagination is not yet available for this type of request",
  );
  const onePage = await gl.Jobs.all(project.id, { perPage: 2, page: 2, showExpanded: true });
  assert.deepEqual(onePage.data.map((j) => j.id), allIds.slice(2, 4));
  assert.equal(onePage.paginationInfo.current, 2);
  assert.equal(onePage.paginationInfo.next, 3);
  assert.equal(onePage.paginationInfo.previous, 1);
  assert.equal(onePage.paginationInfo.perPage, 2);
  const pipePage = await pipelineJobs(pipeline.id, { perPage: 2, page: 1, showExpanded: true });
  assert.equal(pipePage.paginationInfo.total, 5);
  assert.equal(pipePage.paginationInfo.totalPages, 3);
  const pipeAll = await pipelineJobs(pipeline.id, { perPage: 2 });
  assert.deepEqual(pipeAll.map((j) => j.id), allIds);
  assert.deepEqual((await pipelineJobs(pipeline.id, { scope: ["created"] })).map((j) => j.name), [
    "release",
  ]);

  // Permissions: a Reporter may read but not cancel; a read_api token may not POST.
  assert.equal((await rep.Jobs.show(project.id, slow.id)).id, slow.id);
  await rejects(rep.Jobs.cancel(project.id, slow.id), 403, "403 Forbidden");
  await rejects(
    ro.Jobs.cancel(project.id, slow.id),
    403,
    "insufficient_scope",
  );
  await rejects(gl.Jobs.show(project.id, 999999999), 404, "404 Not found");
  await rejects(gl.Jobs.show(999999999, slow.id), 404, "404 Project Not Found");

  // `main` is protected (Maintainers push and merge), so the Developer may not act on its jobs.
  await rejects(dev.Jobs.cancel(project.id, slow.id), 403, "403 Forbidden");
  await rejects(dev.Jobs.retry(project.id, flaky.id), 403, "403 Forbidden");

  // Cancel the running job (the built-in runner cancels gracefully).
  const canceling = await gl.Jobs.cancel(project.id, slow.id);
  assert.ok(["canceling", "canceled"].includes(canceling.status), canceling.status);
  await wait("slow to be canceled", async () => (await statusOf("slow")) === "canceled");
  const again = await gl.Jobs.cancel(project.id, slow.id);
  assert.equal(again.status, "canceled");

  // Retry the allowed failure: a new job, the old one only shows with include_retried.
  const retried = await gl.Jobs.retry(project.id, flaky.id);
  assert.notEqual(retried.id, flaky.id);
  assert.equal(retried.name, "flaky");
  assert.equal(retried.user.username, owner.username);
  assert.ok(["pending", "created", "running"].includes(retried.status), retried.status);
  const latest = (await pipelineJobs(pipeline.id)).map((j) => j.id);
  assert.ok(latest.includes(retried.id) && !latest.includes(flaky.id));
  const withRetried = (await pipelineJobs(pipeline.id, { includeRetried: true })).map((j) => j.id);
  assert.ok(withRetried.includes(retried.id) && withRetried.includes(flaky.id));
  await rejects(gl.Jobs.retry(project.id, flaky.id), 403, "403 Forbidden - Job is not retryable");

  // The manual job is skipped after the canceled stage; skipped jobs are not playable.
  await wait("release to be skipped", async () => (await statusOf("release")) === "skipped");
  const skipped = await jobNamed("release");
  await rejects(gl.Jobs.play(project.id, skipped.id), 400, "400 Bad request - Unplayable Job");

  // A pipeline started through the API where the manual job is reached and played with variables.
  const quickYaml = CI_YAML.replace("sleep 120", "echo quick").replace(
    /external:[\s\S]*?never run by the built-in runner\n/,
    "",
  );
  await gl.Commits.create(project.id, "main", "quick", [
    { action: "update", filePath: ".gitlab-ci.yml", content: quickYaml },
  ]);
  const second = await wait("the second push pipeline", async () => {
    const list = await gl.Pipelines.all(project.id, { ref: "main" });
    return list.find((p) => p.id !== pipeline.id);
  });
  const apiPipeline = await gl.Pipelines.create(project.id, "main", {
    variables: [{ key: "FROM_API", value: "1" }],
  });
  assert.equal(apiPipeline.source, "api");
  const canceledPipeline = await gl.Pipelines.cancel(project.id, apiPipeline.id);
  assert.equal(canceledPipeline.id, apiPipeline.id);
  await wait("release to wait for a manual action", async () =>
    (await statusOf("release", second.id)) === "manual");
  const manual = await jobNamed("release", second.id);
  const played = await gl.Jobs.play(project.id, manual.id, {
    jobVariablesAttributes: [{ key: "RELEASE_NAME", value: "v1" }],
  });
  assert.equal(played.id, manual.id);
  assert.equal(played.user.username, owner.username);
  await wait("release to succeed", async () => (await statusOf("release", second.id)) === "success");
  assert.ok((await gl.Jobs.showLog(project.id, manual.id)).includes("RELEASE-v1"));
  await rejects(
    gl.Jobs.play(project.id, manual.id, { jobVariablesAttributes: [{ key: "ONLY_KEY" }] }),
    400,
    "job_variables_attributes[0][value] is missing",
  );

  // Erase: the log is gone, the record stays with erased_at; erasing again is refused.
  const secondBuild = await jobNamed("build", second.id);
  const erased = await gl.Jobs.erase(project.id, secondBuild.id);
  assert.match(erased.erased_at, ISO_MS);
  assert.deepEqual(erased.artifacts, []);
  assert.equal(erased.artifacts_expire_at, null);
  assert.equal(await gl.Jobs.showLog(project.id, secondBuild.id), "");
  await rejects(gl.Jobs.erase(project.id, secondBuild.id), 403, "403 Forbidden - Job is not erasable!");

  // Protected branches: the developer cannot retry or play jobs of a ref only maintainers push to.
  const protectedBranch = await gl.ProtectedBranches.protect(project.id, "stable", {
    pushAccessLevel: 40,
    mergeAccessLevel: 40,
  });
  assert.equal(protectedBranch.name, "stable");
  assert.equal(protectedBranch.push_access_levels[0].access_level, 40);
  assert.equal((await gl.ProtectedBranches.show(project.id, "stable")).name, "stable");
  await gl.Commits.create(
    project.id,
    "stable",
    "stable branch",
    [{ action: "create", filePath: "STABLE", content: "stable\n" }],
    { startBranch: "main" },
  );
  const stable = await wait("the stable pipeline", async () =>
    (await gl.Pipelines.all(project.id, { ref: "stable" }))[0]);
  await wait("stable's build to finish", async () =>
    (await statusOf("build", stable.id)) === "success");
  const stableBuild = await jobNamed("build", stable.id);
  assert.equal(stableBuild.ref, "stable");
  await rejects(dev.Jobs.retry(project.id, stableBuild.id), 403, "403 Forbidden");
  assert.equal((await gl.Jobs.retry(project.id, stableBuild.id)).name, "build");

  // Bridges: a child pipeline through a trigger job with `strategy: depend`.
  await gl.Commits.create(project.id, "main", "child pipeline", [
    {
      action: "update",
      filePath: ".gitlab-ci.yml",
      content: "child:\n  trigger:\n    include: child.yml\n    strategy: depend\n",
    },
    { action: "create", filePath: "child.yml", content: "child-job:\n  script: echo CHILD-RAN\n" },
  ]);
  const known = new Set([pipeline.id, second.id, apiPipeline.id, stable.id]);
  const parent = await wait("the parent pipeline", async () =>
    (await gl.Pipelines.all(project.id, { source: "push" })).find((p) => !known.has(p.id)));
  await wait("the parent to follow its child", async () =>
    (await gl.Pipelines.show(project.id, parent.id)).status === "success");
  const bridges = await gl.Jobs.allPipelineBridges(project.id, parent.id);
  assert.equal(bridges.length, 1);
  const [bridge] = bridges;
  assert.equal(bridge.name, "child");
  assert.equal(bridge.status, "success");
  assert.ok(!("artifacts" in bridge) && !("runner" in bridge) && !("tag_list" in bridge));
  const child = await gl.Pipelines.show(project.id, bridge.downstream_pipeline.id);
  assert.equal(child.source, "parent_pipeline");
  assert.equal(child.status, "success");
  assert.deepEqual((await pipelineJobs(child.id)).map((j) => j.name), ["child-job"]);
  assert.deepEqual(await pipelineJobs(parent.id), []);
  await rejects(gl.Jobs.show(project.id, bridge.id), 404, "404 Not found");

  // The rest of the platform API a client script touches around jobs.
  const branches = await gl.Branches.all(project.id);
  assert.deepEqual(branches.map((b) => b.name).sort(), ["main", "stable"]);
  assert.equal((await gl.Commits.show(project.id, commit.id)).id, commit.id);
  const shownRunner = await gl.Runners.show(runner.id);
  assert.equal(shownRunner.description, "gitbeaker");
  assert.deepEqual(shownRunner.tag_list, ["gitbeaker-external"]);
  const runnerJobs = await gl.Runners.allJobs(runner.id);
  assert.deepEqual(runnerJobs.map((j) => j.id), [external.id]);
  const edited = await gl.Runners.edit(runner.id, { paused: true });
  assert.equal(edited.paused, true);
  await gl.Runners.remove({ runnerId: runner.id });
  await rejects(gl.Runners.show(runner.id), 404, "404 Runner Not Found");
  const retriedPipeline = await gl.Pipelines.retry(project.id, pipeline.id);
  assert.equal(retriedPipeline.id, pipeline.id);
  await gl.Pipelines.cancel(project.id, pipeline.id);
  await gl.Pipelines.remove(project.id, apiPipeline.id);
  await rejects(gl.Pipelines.show(project.id, apiPipeline.id), 404, "404 Not found");
  const renamed = await gl.Projects.edit(project.id, { path: `renamed-${suffix}` });
  assert.equal(renamed.path_with_namespace, `gb-${suffix}/renamed-${suffix}`);
  assert.equal((await gl.Projects.show(`gb-${suffix}/renamed-${suffix}`)).id, project.id);
  assert.equal((await gl.Jobs.all(`gb-${suffix}/jobs-${suffix}`, { perPage: 1, maxPages: 1 })).length, 1);
  await rejects(
    gl.Jobs.cancel(`gb-${suffix}/jobs-${suffix}`, build.id),
    405,
    "Non GET methods are not allowed for moved projects",
  );
  await admin.Users.block(reporter.id);
  await rejects(rep.Jobs.show(project.id, build.id), 403);
  await admin.Users.unblock(reporter.id);
  assert.equal((await rep.Jobs.show(project.id, build.id)).id, build.id);
  await admin.PersonalAccessTokens.remove({ tokenId: repToken.id });
  await rejects(rep.Jobs.show(project.id, build.id), 401);

  console.log("gitbeaker: all checks passed");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
