# frozen_string_literal: true

# Drives a running Pipewright server with the real Ruby `gitlab` gem (Debian's ruby-gitlab)
# through the platform API and every Jobs API endpoint.
#
# Usage: ruby check.rb <server url> <admin token>
# Exits non-zero at the first check that fails. Creates its own users, group and project.

require 'gitlab'
require 'json'
require 'net/http'
require 'securerandom'

URL, ADMIN_TOKEN = ARGV
abort 'usage: ruby check.rb <server url> <admin token>' unless URL && ADMIN_TOKEN
API = "#{URL}/api/v4"

CI_YAML = <<~YAML
  stages: [build, test, deploy]
  build:
    stage: build
    script:
      - echo "RUBY-MARKER $CI_JOB_NAME"
  flaky:
    stage: build
    allow_failure: true
    script:
      - exit 4
  external:
    stage: build
    tags: [ruby-external]
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
YAML

ISO_MS = /\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\z/.freeze

def check(condition, message)
  raise "check failed: #{message}" unless condition
end

def check_eq(actual, expected, what)
  check(actual == expected, "#{what}: expected #{expected.inspect}, got #{actual.inspect}")
end

def wait_for(what, timeout = 60)
  deadline = Time.now + timeout
  loop do
    value = yield
    return value if value
    raise "timed out waiting for #{what}" if Time.now > deadline

    sleep 0.2
  end
end

# The call must fail with `status` and exactly the JSON body `body` (when given).
def expect_error(status, body = nil)
  yield
rescue Gitlab::Error::ResponseError => e
  check_eq(e.response_status, status, "status of #{e.message}")
  if body
    raw = e.instance_variable_get(:@response).body
    check_eq(JSON.parse(raw), body, 'error body')
  end
else
  raise "expected HTTP #{status}"
end

# The Job entity of jobs-api.md §5.1 (keys, types, conditional keys).
def check_job(job, name: nil, pipeline_id: nil)
  hash = job.to_h
  %w[id status stage name ref tag coverage allow_failure created_at started_at finished_at
     erased_at duration queued_duration user commit pipeline web_url project artifacts runner
     artifacts_expire_at archived tag_list].each do |key|
    check(hash.key?(key), "job #{hash['id']} has no #{key}")
  end
  check(hash['id'].is_a?(Integer), 'id is an integer')
  check([true, false].include?(hash['tag']), 'tag is a boolean')
  check(hash['created_at'].match?(ISO_MS), "created_at #{hash['created_at']}")
  check_eq(hash.key?('failure_reason'), hash['status'] == 'failed', 'failure_reason presence')
  check(hash['web_url'].end_with?("/-/jobs/#{hash['id']}"), 'web_url')
  check_eq(hash['commit']['short_id'], hash['commit']['id'][0, 8], 'short_id')
  check_eq(hash['name'], name, 'name') if name
  check_eq(hash['pipeline']['id'], pipeline_id, 'pipeline id') if pipeline_id
end

def runner_call(method, path, body)
  uri = URI("#{API}#{path}")
  request = (method == :post ? Net::HTTP::Post : Net::HTTP::Put).new(uri)
  request['Content-Type'] = 'application/json'
  request.body = JSON.generate(body)
  Net::HTTP.start(uri.host, uri.port) { |http| http.request(request) }
end

admin = Gitlab.client(endpoint: API, private_token: ADMIN_TOKEN)
check_eq(admin.user.username, 'root', 'admin user')

suffix = SecureRandom.hex(4)
owner = admin.create_user("rb-owner-#{suffix}@example.com", "pw-#{suffix}-long-enough",
                          "rb-owner-#{suffix}", name: 'Owner')
developer = admin.create_user("rb-dev-#{suffix}@example.com", "pw-#{suffix}-long-enough",
                              "rb-dev-#{suffix}", name: 'Developer')
check_eq(admin.users(username: developer.username).map(&:id), [developer.id], 'users?username=')
check_eq(admin.user(owner.id).username, owner.username, 'GET /users/:id')
token_of = lambda do |user, scopes|
  token = admin.post("/users/#{user.id}/personal_access_tokens", body: { name: 'rb', scopes: scopes })
  check_eq(token.scopes, scopes, 'token scopes')
  token.token
end
# glpat- tokens are longer than 20 characters, so the gem sends them as `Authorization: Bearer`.
gl = Gitlab.client(endpoint: API, private_token: token_of.call(owner, ['api']))
dev = Gitlab.client(endpoint: API, private_token: token_of.call(developer, ['api']))
check_eq(gl.user.id, owner.id, 'owner token')

group = gl.create_group("RB #{suffix}", "rb-#{suffix}", visibility: 'private')
check_eq(gl.group(group.id).full_path, "rb-#{suffix}", 'group path')
gl.add_group_member(group.id, developer.id, 30)
project = gl.create_project("jobs-#{suffix}", namespace_id: group.id)
check_eq(project.path_with_namespace, "rb-#{suffix}/jobs-#{suffix}", 'project path')
check_eq(gl.project(project.path_with_namespace).id, project.id, 'project by path')
reporter = admin.create_user("rb-rep-#{suffix}@example.com", "pw-#{suffix}-long-enough",
                             "rb-rep-#{suffix}", name: 'Reporter')
check_eq(gl.add_team_member(project.id, reporter.id, 20).access_level, 20, 'project member')
rep = Gitlab.client(endpoint: API, private_token: token_of.call(reporter, ['api']))

runner = gl.post('/user/runners', body: { runner_type: 'project_type', project_id: project.id,
                                          description: 'ruby', tag_list: 'ruby-external' })
check(runner.token.start_with?('glrt-'), 'runner token')
check(gl.project_runners(project.id).map(&:id).include?(runner.id), 'project runners')

commit = gl.create_commit(project.id, 'main', 'add CI',
                          [{ action: 'create', file_path: '.gitlab-ci.yml', content: CI_YAML }])
check_eq(commit.title, 'add CI', 'commit title')
pipeline = wait_for('the push pipeline') { gl.pipelines(project.id).find { |p| p.sha == commit.id } }
check_eq(pipeline.source, 'push', 'pipeline source')

job_named = lambda do |name, pipeline_id = pipeline.id|
  found = gl.pipeline_jobs(project.id, pipeline_id).find { |j| j.name == name }
  check(found, "no job #{name}")
  gl.job(project.id, found.id)
end

wait_for('build to succeed') { job_named.call('build').status == 'success' }
flaky = wait_for('flaky to fail') { (j = job_named.call('flaky')).status == 'failed' && j }
check_job(flaky, name: 'flaky', pipeline_id: pipeline.id)
check_eq(flaky.failure_reason, 'script_failure', 'failure_reason')
build = job_named.call('build')
check_job(build, name: 'build', pipeline_id: pipeline.id)
trace = gl.job_trace(project.id, build.id)
check(trace.include?('RUBY-MARKER build'), "trace: #{trace}")

# The tagged job: taken through the runner protocol, its job token then reads GET /job.
external = job_named.call('external')
check_eq(external.status, 'pending', 'external status')
response = runner_call(:post, '/jobs/request', token: runner.token, info: { features: {} })
check_eq(response.code, '201', 'job request')
payload = JSON.parse(response.body)
check_eq(payload['id'], external.id, 'requested job')
current = gl.get('/job', unauthenticated: true, headers: { 'JOB-TOKEN' => payload['token'] })
check_job(current, name: 'external', pipeline_id: pipeline.id)
check_eq(current.status, 'running', 'GET /job status')
agents = gl.get('/job/allowed_agents', unauthenticated: true,
                                       headers: { 'JOB-TOKEN' => payload['token'] })
check_eq(agents.job.id, external.id, 'allowed_agents job')
check_eq(agents.project.to_h, { 'id' => project.id, 'groups' => [{ 'id' => group.id }] },
         'allowed_agents project')
expect_error(404, 'message' => '404 Job Not Found') { gl.get('/job') }
check_eq(runner_call(:put, "/jobs/#{external.id}", token: payload['token'], state: 'success').code,
         '200', 'job update')
expect_error(401, 'message' => '401 Unauthorized') do
  gl.get('/job', unauthenticated: true, headers: { 'JOB-TOKEN' => payload['token'] })
end

slow = wait_for('slow to run') { (j = job_named.call('slow')).status == 'running' && j }

# Scopes, offset pagination through the Link header, keyset pagination.
check_eq(gl.jobs(project.id, scope: ['failed']).map(&:name), ['flaky'], 'scope[]=failed')
check_eq(gl.jobs(project.id, scope: %w[success failed]).map(&:name).sort,
         %w[build external flaky], 'two scopes')
check_eq(gl.jobs(project.id, scope: 'running').map(&:name), ['slow'], 'scope=running')
expect_error(400, 'error' => 'scope does not have a valid value') do
  gl.jobs(project.id, scope: ['bogus'])
end
all_ids = gl.jobs(project.id).map(&:id)
check_eq(all_ids.length, 5, 'job count')
check_eq(all_ids, all_ids.sort.reverse, 'id order')
first_page = gl.jobs(project.id, per_page: 2)
check(first_page.has_next_page? && !first_page.has_last_page?, 'E1 links: next, no last')
check_eq(first_page.auto_paginate.map(&:id), all_ids, 'offset iteration')
keyset = gl.jobs(project.id, pagination: 'keyset', per_page: 2, order_by: 'id', sort: 'desc')
check(!keyset.has_first_page? && keyset.has_next_page?, 'keyset links: next only')
check_eq(keyset.auto_paginate.map(&:id), all_ids, 'keyset iteration')
pipe_page = gl.pipeline_jobs(project.id, pipeline.id, per_page: 2)
check(pipe_page.has_last_page?, 'E2 links have last')
check_eq(pipe_page.last_page.map(&:id), all_ids.last(1), 'E2 last page')
check_eq(pipe_page.auto_paginate.map(&:id), all_ids, 'E2 iteration')

# Permissions.
check_eq(rep.job(project.id, slow.id).id, slow.id, 'reporter reads')
expect_error(403, 'message' => '403 Forbidden') { rep.job_cancel(project.id, slow.id) }
expect_error(403, 'message' => '403 Forbidden') { dev.job_cancel(project.id, slow.id) }
expect_error(404, 'message' => '404 Not found') { gl.job(project.id, 999_999_999) }
expect_error(404, 'message' => '404 Project Not Found') { gl.job(999_999_999, slow.id) }

# Cancel, retry, play, erase.
check(%w[canceling canceled].include?(gl.job_cancel(project.id, slow.id).status), 'cancel')
wait_for('slow to be canceled') { job_named.call('slow').status == 'canceled' }
retried = gl.job_retry(project.id, flaky.id)
check(retried.id != flaky.id && retried.name == 'flaky', 'retry makes a new job')
check_eq(retried.user.username, owner.username, 'retry user')
latest = gl.pipeline_jobs(project.id, pipeline.id).map(&:id)
check(latest.include?(retried.id) && !latest.include?(flaky.id), 'retried job hidden')
with_retried = gl.pipeline_jobs(project.id, pipeline.id, include_retried: true).map(&:id)
check(with_retried.include?(retried.id) && with_retried.include?(flaky.id), 'include_retried')
expect_error(403, 'message' => '403 Forbidden - Job is not retryable') do
  gl.job_retry(project.id, flaky.id)
end
wait_for('release to be skipped') { job_named.call('release').status == 'skipped' }
expect_error(400, 'message' => '400 Bad request - Unplayable Job') do
  gl.job_play(project.id, job_named.call('release').id)
end

quick = gl.create_pipeline(project.id, 'main')
check_eq(quick.source, 'api', 'API pipeline source')
gl.cancel_pipeline(project.id, quick.id)
gl.create_commit(project.id, 'main', 'quick',
                 [{ action: 'update', file_path: '.gitlab-ci.yml',
                    content: CI_YAML.sub('sleep 120', 'echo quick').sub(/external:.*?runner\n/m, '') }])
second = wait_for('the second push pipeline') do
  gl.pipelines(project.id, source: 'push').find { |p| p.id != pipeline.id }
end
wait_for('release to be manual') { job_named.call('release', second.id).status == 'manual' }
manual = job_named.call('release', second.id)
# The gem's job_play takes no variables; post them as GitLab documents.
played = gl.post("/projects/#{project.id}/jobs/#{manual.id}/play",
                 body: { job_variables_attributes: [{ key: 'RELEASE_NAME', value: 'v1' }] })
check_eq(played.id, manual.id, 'play answers the job')
wait_for('release to succeed') { job_named.call('release', second.id).status == 'success' }
check(gl.job_trace(project.id, manual.id).include?('RELEASE-v1'), 'play variables')

second_build = job_named.call('build', second.id)
erased = gl.job_erase(project.id, second_build.id)
check(erased.erased_at.match?(ISO_MS), 'erased_at')
check_eq(erased.artifacts, [], 'erased artifacts')
check_eq(gl.job_trace(project.id, second_build.id), nil, 'erased trace is empty')
expect_error(403, 'message' => '403 Forbidden - Job is not erasable!') do
  gl.job_erase(project.id, second_build.id)
end

# Protected branches.
protected_branch = gl.protect_branch(project.id, 'stable', push_access_level: 30,
                                                          merge_access_level: 30)
check_eq(protected_branch.push_access_levels.first.access_level, 30, 'push access level')
check_eq(gl.protected_branch(project.id, 'stable').name, 'stable', 'GET protected branch')
gl.create_commit(project.id, 'stable', 'stable branch',
                 [{ action: 'create', file_path: 'STABLE', content: "stable\n" }],
                 start_branch: 'main')
stable = wait_for('the stable pipeline') { gl.pipelines(project.id, ref: 'stable').first }
wait_for('the stable build') { job_named.call('build', stable.id).status == 'success' }
stable_build = job_named.call('build', stable.id)
# Developers may push to `stable`, so they may retry its jobs.
check_eq(dev.job_retry(project.id, stable_build.id).user.username, developer.username,
         'developer retries on a branch they may push to')

# Bridges and their child pipeline.
gl.create_commit(project.id, 'main', 'child pipeline',
                 [{ action: 'update', file_path: '.gitlab-ci.yml',
                    content: "child:\n  trigger:\n    include: child.yml\n    strategy: depend\n" },
                  { action: 'create', file_path: 'child.yml',
                    content: "child-job:\n  script: echo CHILD-RAN\n" }])
known = [pipeline.id, second.id, quick.id, stable.id]
parent = wait_for('the parent pipeline') do
  gl.pipelines(project.id, source: 'push').find { |p| !known.include?(p.id) }
end
wait_for('the parent to succeed') { gl.pipeline(project.id, parent.id).status == 'success' }
bridges = gl.pipeline_bridges(project.id, parent.id)
check_eq(bridges.map(&:name), ['child'], 'bridges')
bridge = bridges.first
check_eq(bridge.status, 'success', 'bridge status')
child = gl.pipeline(project.id, bridge.downstream_pipeline.id)
check_eq(child.source, 'parent_pipeline', 'child source')
check_eq(gl.pipeline_jobs(project.id, child.id).map(&:name), ['child-job'], 'child jobs')

puts 'ruby-gitlab: all checks passed'
