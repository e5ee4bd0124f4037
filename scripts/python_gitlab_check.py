#!/usr/bin/env python3
"""Drives a running Pipewright server with the real python-gitlab client through the Jobs API.

Usage: python_gitlab_check.py <server url> <admin token>
Exits non-zero at the first assertion that fails. Creates its own user and project.
"""

import sys
import time
import uuid

import gitlab
import requests

CI_YAML = """
stages: [build, test, deploy]
build:
  stage: build
  script:
    - echo "PYGITLAB-MARKER $CI_JOB_NAME"
flaky:
  stage: build
  allow_failure: true
  script:
    - exit 4
slow:
  stage: test
  script:
    - sleep 120
release:
  stage: deploy
  when: manual
  script:
    - echo "RELEASE-$RELEASE_NAME"
"""

TERMINAL = {"success", "failed", "canceled", "skipped", "manual"}


def wait(predicate, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def main(url: str, admin_token: str) -> None:
    admin = gitlab.Gitlab(url, private_token=admin_token)
    admin.auth()
    assert admin.user.username == "root", admin.user.username

    suffix = uuid.uuid4().hex[:8]

    # OAuth 2: the resource owner password grant, then the access token as `oauth_token`.
    oauth_name, oauth_password = f"oauth{suffix}", f"pw-{suffix}-long-enough"
    admin.users.create(
        {
            "username": oauth_name,
            "name": "OAuth",
            "email": f"{oauth_name}@example.com",
            "password": oauth_password,
        }
    )
    grant = requests.post(
        f"{url}/oauth/token",
        data={"grant_type": "password", "username": oauth_name, "password": oauth_password},
        timeout=30,
    )
    assert grant.status_code == 200, grant.text
    assert grant.json()["expires_in"] == 7200 and grant.json()["scope"] == "api"
    oauth = gitlab.Gitlab(url, oauth_token=grant.json()["access_token"])
    oauth.auth()
    assert oauth.user.username == oauth_name, oauth.user.username
    oauth_project = oauth.projects.create({"name": f"oauth-{suffix}"})
    assert oauth_project.namespace["path"] == oauth_name
    assert oauth.version()[0] != "unknown"
    user = admin.users.create(
        {"username": f"dev{suffix}", "name": "Dev", "email": f"dev{suffix}@example.com"}
    )
    token = user.personal_access_tokens.create({"name": "check", "scopes": ["api"]})
    gl = gitlab.Gitlab(url, private_token=token.token)
    gl.auth()
    assert gl.user.id == user.id

    project = gl.projects.create({"name": f"pygitlab-{suffix}"})
    project.commits.create(
        {
            "branch": "main",
            "commit_message": "add CI",
            "actions": [{"action": "create", "file_path": ".gitlab-ci.yml", "content": CI_YAML}],
        }
    )
    pipeline = wait(lambda: (project.pipelines.list(get_all=False) or [None])[0], "pipeline")
    assert pipeline.source == "push"

    def job(name):
        for candidate in pipeline.jobs.list(get_all=True):
            if candidate.name == name:
                return project.jobs.get(candidate.id)
        raise AssertionError(f"no job {name}")

    # Stage 1 finishes; the long job of stage 2 starts running.
    wait(lambda: job("build").status == "success", "build to succeed")
    assert job("flaky").status == "failed" and job("flaky").failure_reason == "script_failure"
    build = job("build")
    assert b"PYGITLAB-MARKER build" in build.trace(), build.trace()
    slow = wait(lambda: job("slow") if job("slow").status == "running" else None, "slow to run")

    # Filtering and pagination: scope, offset iterator, keyset iterator.
    failed = project.jobs.list(scope=["failed"], get_all=True)
    assert [j.name for j in failed] == ["flaky"], [j.name for j in failed]
    all_ids = [j.id for j in project.jobs.list(get_all=True)]
    assert all_ids == sorted(all_ids, reverse=True)
    offset_ids = [j.id for j in project.jobs.list(iterator=True, per_page=1)]
    keyset_ids = [
        j.id
        for j in project.jobs.list(
            iterator=True, pagination="keyset", per_page=1, order_by="id", sort="desc"
        )
    ]
    assert offset_ids == all_ids == keyset_ids, (offset_ids, keyset_ids, all_ids)

    # Cancel the running job: graceful runners go through `canceling`.
    slow.cancel()
    wait(lambda: job("slow").status == "canceled", "slow to be canceled")

    # Retry the allowed failure: a new job, the old one is marked retried.
    old_flaky = job("flaky")
    old_flaky.retry()
    new_flaky = wait(
        lambda: next(
            (j for j in pipeline.jobs.list(get_all=True) if j.name == "flaky" and j.id != old_flaky.id),
            None,
        ),
        "the retried job",
    )
    with_retried = pipeline.jobs.list(include_retried=True, get_all=True)
    assert {j.id for j in with_retried} >= {old_flaky.id, new_flaky.id}
    assert old_flaky.id not in {j.id for j in pipeline.jobs.list(get_all=True)}

    # Once the retry fails again, the manual job is skipped (its stage follows a canceled
    # job), and a skipped job is not playable.
    wait(lambda: job("release").status == "skipped", "release to be skipped")
    release = job("release")
    try:
        release.play()
        raise AssertionError("playing a skipped job must fail")
    except gitlab.exceptions.GitlabJobPlayError as err:
        assert err.response_code == 400, err.response_code

    # A second pipeline where the manual job is reached, then played with variables.
    project.commits.create(
        {
            "branch": "main",
            "commit_message": "no slow job",
            "actions": [
                {
                    "action": "update",
                    "file_path": ".gitlab-ci.yml",
                    "content": CI_YAML.replace("sleep 120", "echo quick"),
                }
            ],
        }
    )
    second = wait(
        lambda: next((p for p in project.pipelines.list(get_all=True) if p.id != pipeline.id), None),
        "second pipeline",
    )
    pipeline = second
    wait(lambda: job("release").status == "manual", "release to wait for a manual action")
    release = job("release")
    release.play(post_data={"job_variables_attributes": [{"key": "RELEASE_NAME", "value": "v1"}]})
    wait(lambda: job("release").status == "success", "release to succeed")
    assert b"RELEASE-v1" in job("release").trace()

    # Erase: log gone, record kept with erased_at.
    build = job("build")
    build.erase()
    erased = project.jobs.get(build.id)
    assert erased.erased_at is not None
    assert erased.trace() == b""

    # Trigger jobs: a child pipeline through a bridge with `strategy: depend`.
    project.commits.create(
        {
            "branch": "main",
            "commit_message": "child pipeline",
            "actions": [
                {
                    "action": "update",
                    "file_path": ".gitlab-ci.yml",
                    "content": "child:\n  trigger:\n    include: child.yml\n    strategy: depend\n",
                },
                {
                    "action": "create",
                    "file_path": "child.yml",
                    "content": "child-job:\n  script: echo CHILD-RAN\n",
                },
            ],
        }
    )
    known = {pipeline.id, second.id}
    parent = wait(
        lambda: next(
            (p for p in project.pipelines.list(get_all=True) if p.id not in known and p.source == "push"),
            None,
        ),
        "the parent pipeline",
    )
    bridge = wait(
        lambda: next(
            (b for b in parent.bridges.list(get_all=True) if b.downstream_pipeline), None
        ),
        "the bridge's downstream pipeline",
    )
    assert bridge.name == "child"
    wait(
        lambda: project.pipelines.get(parent.id).status == "success",
        "the parent to follow its child",
    )
    bridge = parent.bridges.list(get_all=True)[0]
    assert bridge.status == "success", bridge.status
    child = project.pipelines.get(bridge.downstream_pipeline["id"])
    assert child.source == "parent_pipeline" and child.status == "success"
    assert [j.name for j in child.jobs.list(get_all=True)] == ["child-job"]

    print("python-gitlab: all checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
