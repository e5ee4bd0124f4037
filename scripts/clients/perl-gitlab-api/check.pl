#!/usr/bin/env perl
# Drives a running Pipewright server with the real Perl client GitLab::API::v4 (Debian's
# libgitlab-api-v4-perl) through the platform API and every Jobs API endpoint.
#
# Usage: perl check.pl <server url> <admin token>
# Dies at the first check that fails. Creates its own users, group and project.
use strict;
use warnings;
use GitLab::API::v4;
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(sleep time);
use URI::Escape qw(uri_unescape);

my ($url, $admin_token) = @ARGV;
die "usage: perl check.pl <server url> <admin token>\n" unless $url && $admin_token;
my $api_url = "$url/api/v4";
my $json = JSON::PP->new->canonical;

my $ci_yaml = <<'YAML';
stages: [build, test, deploy]
build:
  stage: build
  script:
    - echo "PERL-MARKER $CI_JOB_NAME"
flaky:
  stage: build
  allow_failure: true
  script:
    - exit 4
external:
  stage: build
  tags: [perl-external]
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

my $iso_ms = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

sub check { my ($ok, $what) = @_; die "check failed: $what\n" unless $ok; }

sub check_eq {
    my ($actual, $expected, $what) = @_;
    my ($a, $e) = map { ref $_ ? $json->encode($_) : defined $_ ? $_ : 'undef' } ($actual, $expected);
    check($a eq $e, "$what: expected $e, got $a");
}

sub wait_for {
    my ($what, $predicate) = @_;
    my $deadline = time + 60;
    while (1) {
        my $value = $predicate->();
        return $value if $value;
        die "timed out waiting for $what\n" if time > $deadline;
        sleep 0.2;
    }
}

# The call must fail with `status` and exactly the JSON body `body`. The client croaks with
# only a glimpse of the body, so the full response is read from the client itself.
sub expect_error {
    my ($api, $status, $body, $call) = @_;
    my $ok = eval { $call->(); 1 };
    check(!$ok, "expected HTTP $status");
    my $res = $api->rest_client->http_tiny_response;
    check_eq($res->{status}, $status, "status ($@)");
    check_eq($json->decode($res->{content}), $body, 'error body') if $body;
}

# The Job entity of jobs-api.md §5.1 (keys, conditional keys, formats).
sub check_job {
    my ($job, $name, $pipeline_id) = @_;
    for my $key (qw(id status stage name ref tag coverage allow_failure created_at started_at
        finished_at erased_at duration queued_duration user commit pipeline web_url project
        artifacts runner artifacts_expire_at archived tag_list)) {
        check(exists $job->{$key}, "job $job->{id} has no $key");
    }
    check(JSON::PP::is_bool($job->{tag}), 'tag is a JSON boolean');
    check($job->{created_at} =~ $iso_ms, "created_at $job->{created_at}");
    check_eq(exists $job->{failure_reason} ? 1 : 0, $job->{status} eq 'failed' ? 1 : 0,
        'failure_reason presence');
    check($job->{web_url} =~ m{/-/jobs/$job->{id}$}, 'web_url');
    check_eq($job->{name}, $name, 'name') if defined $name;
    check_eq($job->{pipeline}{id}, $pipeline_id, 'pipeline id') if defined $pipeline_id;
}

sub runner_call {
    my ($method, $path, $body) = @_;
    return HTTP::Tiny->new->request($method, "$api_url$path", {
        headers => { 'content-type' => 'application/json' },
        content => $json->encode($body),
    });
}

my $admin = GitLab::API::v4->new(url => $api_url, private_token => $admin_token);
check_eq($admin->current_user->{username}, 'root', 'admin');

my $suffix = sprintf '%08x', int(rand(0xffffffff));
my %users;
for my $role (qw(owner dev rep)) {
    my $username = "pl-$role-$suffix";
    $admin->create_user({ username => $username, name => ucfirst $role,
        email => "$username\@example.com" });
    my $found = $admin->users({ username => $username });
    check_eq(scalar @$found, 1, "GET /users?username=$username");
    my $token = $admin->rest_client->request('POST', 'users/:user_id/personal_access_tokens',
        [$found->[0]{id}], { headers => { 'private-token' => $admin_token },
            content => { name => 'pl', scopes => ['api'] } });
    $users{$role} = { %{ $found->[0] }, token => $token->{token},
        api => GitLab::API::v4->new(url => $api_url, private_token => $token->{token}) };
}
my ($owner, $dev, $rep) = @users{qw(owner dev rep)};
my $gl = $owner->{api};
check_eq($gl->current_user->{id}, $owner->{id}, 'owner token');

# create_group answers nothing in this client version; look the group up by its path.
$gl->create_group({ name => "PL $suffix", path => "pl-$suffix" });
my $group = $gl->group("pl-$suffix");
check_eq($group->{full_path}, "pl-$suffix", 'group');
$gl->add_group_member($group->{id}, { user_id => $dev->{id}, access_level => 30 });
my $project = $gl->create_project({ name => "jobs-$suffix", namespace_id => $group->{id} });
check_eq($project->{path_with_namespace}, "pl-$suffix/jobs-$suffix", 'project path');
check_eq($gl->project("pl-$suffix/jobs-$suffix")->{id}, $project->{id}, 'project by path');
my $pid = $project->{id};
$gl->add_project_member($pid, { user_id => $rep->{id}, access_level => 20 });

my $runner = $gl->_call_rest_client('POST', 'user/runners', [], { content => {
    runner_type => 'project_type', project_id => $pid, description => 'perl',
    tag_list => ['perl-external'] } });
check($runner->{token} =~ /^glrt-/, 'runner token');
check((grep { $_->{id} == $runner->{id} } @{ $gl->project_runners($pid) }), 'project runners');

my $commit = $gl->create_commit($pid, { branch => 'main', commit_message => 'add CI',
    actions => [{ action => 'create', file_path => '.gitlab-ci.yml', content => $ci_yaml }] });
my $pipeline = wait_for('the push pipeline', sub {
    (grep { $_->{sha} eq $commit->{id} } @{ $gl->pipelines($pid) })[0] });
check_eq($pipeline->{source}, 'push', 'pipeline source');

sub job_named {
    my ($name, $pipeline_id) = @_;
    my ($found) = grep { $_->{name} eq $name } @{ $gl->pipeline_jobs($pid, $pipeline_id) };
    check($found, "no job $name");
    return $gl->job($pid, $found->{id});
}
my $first = $pipeline->{id};

wait_for('build to succeed', sub { job_named('build', $first)->{status} eq 'success' });
my $flaky = wait_for('flaky to fail', sub {
    my $job = job_named('flaky', $first); $job->{status} eq 'failed' && $job });
check_job($flaky, 'flaky', $first);
check_eq($flaky->{failure_reason}, 'script_failure', 'failure_reason');
my $build = job_named('build', $first);
check_job($build, 'build', $first);
# job_trace_file decodes the text/plain log as JSON (a client bug), so read it undecoded.
my $trace_of = sub {
    $gl->_call_rest_client('GET', 'projects/:project_id/jobs/:job_id/trace', [$pid, $_[0]],
        { decode => 0 });
};
check($trace_of->($build->{id}) =~ /PERL-MARKER build/, 'trace');

# The tagged job, taken through the runner protocol; its job token reads GET /job.
my $external = job_named('external', $first);
check_eq($external->{status}, 'pending', 'external status');
my $request = runner_call('POST', '/jobs/request', { token => $runner->{token}, info => {} });
check_eq($request->{status}, 201, 'job request');
my $payload = $json->decode($request->{content});
check_eq($payload->{id}, $external->{id}, 'requested job');
my $job_headers = { headers => { 'job-token' => $payload->{token} } };
my $current = $gl->rest_client->request('GET', 'job', [], $job_headers);
check_job($current, 'external', $first);
check_eq($current->{status}, 'running', 'GET /job');
my $agents = $gl->rest_client->request('GET', 'job/allowed_agents', [], $job_headers);
check_eq($agents->{project}, { id => $pid, groups => [{ id => $group->{id} }] }, 'allowed_agents');
# The client answers undef for any GET 404: a PAT on GET /job is 404 Job Not Found.
check(!defined $gl->_call_rest_client('GET', 'job', [], {}), 'PAT on GET /job');
check_eq($json->decode($gl->rest_client->http_tiny_response->{content}),
    { message => '404 Job Not Found' }, 'GET /job with a PAT');
check_eq(runner_call('PUT', "/jobs/$external->{id}",
    { token => $payload->{token}, state => 'success' })->{status}, 200, 'job update');
expect_error($gl, 401, { message => '401 Unauthorized' },
    sub { $gl->rest_client->request('GET', 'job', [], $job_headers) });

my $slow = wait_for('slow to run', sub {
    my $job = job_named('slow', $first); $job->{status} eq 'running' && $job });

# Scopes and both paginations.
check_eq([map { $_->{name} } @{ $gl->jobs($pid, { 'scope[]' => ['failed'] }) }], ['flaky'],
    'scope[]=failed');
check_eq([sort map { $_->{name} } @{ $gl->jobs($pid, { 'scope[]' => [qw(success failed)] }) }],
    [qw(build external flaky)], 'two scopes');
check_eq([map { $_->{name} } @{ $gl->jobs($pid, { scope => 'running' }) }], ['slow'],
    'scope=running');
expect_error($gl, 400, { error => 'scope does not have a valid value' },
    sub { $gl->jobs($pid, { 'scope[]' => ['bogus'] }) });
my @all = map { $_->{id} } @{ $gl->jobs($pid) };
check_eq(scalar @all, 5, 'job count');
check_eq(\@all, [sort { $b <=> $a } @all], 'id order');
my $pager = $gl->paginator('jobs', $pid, { per_page => 2 });
my @paged;
while (my $job = $pager->next) { push @paged, $job->{id} }
check_eq(\@paged, \@all, 'offset paginator');
my $headers = $gl->rest_client->http_tiny_response->{headers};
check_eq($headers->{'x-page'}, '3', 'X-Page');
check_eq($headers->{'x-next-page'}, '', 'X-Next-Page on the last page');
check(!exists $headers->{'x-total'}, 'E1 has no X-Total');
$pager = $gl->paginator('pipeline_jobs', $pid, $first, { per_page => 4 });
@paged = ();
while (my $job = $pager->next) { push @paged, $job->{id} }
check_eq(\@paged, \@all, 'pipeline jobs paginator');
check_eq($gl->rest_client->http_tiny_response->{headers}{'x-total'}, '5', 'E2 X-Total');
# Keyset: follow the Link header by hand, as the client has no keyset support.
my @keyset;
my %query = (pagination => 'keyset', per_page => 2, order_by => 'id', sort => 'desc');
while (1) {
    push @keyset, map { $_->{id} } @{ $gl->jobs($pid, {%query}) };
    my $link = $gl->rest_client->http_tiny_response->{headers}{link} // '';
    last unless $link =~ /<[^>]*[?&]cursor=([^&>]+)[^>]*>; rel="next"/;
    $query{cursor} = uri_unescape($1);
}
check_eq(\@keyset, \@all, 'keyset iteration');

# Permissions.
check_eq($rep->{api}->job($pid, $slow->{id})->{id}, $slow->{id}, 'reporter reads');
expect_error($rep->{api}, 403, { message => '403 Forbidden' },
    sub { $rep->{api}->cancel_job($pid, $slow->{id}) });
expect_error($gl, 403, { message => '403 Forbidden - Job is not retryable' },
    sub { $gl->retry_job($pid, $slow->{id}) });
check(!defined $gl->job($pid, 999999999), 'unknown job');
check_eq($json->decode($gl->rest_client->http_tiny_response->{content}),
    { message => '404 Not found' }, 'unknown job body');

# Cancel, retry, play, erase.
my $canceled = $gl->cancel_job($pid, $slow->{id});
check($canceled->{status} =~ /^cancel(ing|ed)$/, 'cancel');
wait_for('slow to be canceled', sub { job_named('slow', $first)->{status} eq 'canceled' });
my $retried = $gl->retry_job($pid, $flaky->{id});
check($retried->{id} != $flaky->{id} && $retried->{name} eq 'flaky', 'retry is a new job');
my %latest = map { $_->{id} => 1 } @{ $gl->pipeline_jobs($pid, $first) };
check($latest{ $retried->{id} } && !$latest{ $flaky->{id} }, 'retried job hidden');
my %with = map { $_->{id} => 1 } @{ $gl->pipeline_jobs($pid, $first, { include_retried => 'true' }) };
check($with{ $retried->{id} } && $with{ $flaky->{id} }, 'include_retried');
wait_for('release to be skipped', sub { job_named('release', $first)->{status} eq 'skipped' });
expect_error($gl, 400, { message => '400 Bad request - Unplayable Job' },
    sub { $gl->play_job($pid, job_named('release', $first)->{id}) });

(my $quick = $ci_yaml) =~ s/sleep 120/echo quick/;
$quick =~ s/external:.*?runner\n//s;
$gl->create_commit($pid, { branch => 'main', commit_message => 'quick',
    actions => [{ action => 'update', file_path => '.gitlab-ci.yml', content => $quick }] });
my $second = wait_for('the second pipeline', sub {
    (grep { $_->{id} != $first } @{ $gl->pipelines($pid) })[0] })->{id};
wait_for('release to be manual', sub { job_named('release', $second)->{status} eq 'manual' });
my $manual = job_named('release', $second);
my $played = $gl->_call_rest_client('POST', 'projects/:project_id/jobs/:job_id/play',
    [$pid, $manual->{id}],
    { content => { job_variables_attributes => [{ key => 'RELEASE_NAME', value => 'v1' }] } });
check_eq($played->{id}, $manual->{id}, 'play');
wait_for('release to succeed', sub { job_named('release', $second)->{status} eq 'success' });
check($trace_of->($manual->{id}) =~ /RELEASE-v1/, 'play variables');

my $second_build = job_named('build', $second);
my $erased = $gl->erase_job($pid, $second_build->{id});
check($erased->{erased_at} =~ $iso_ms, 'erased_at');
check_eq($trace_of->($second_build->{id}), '', 'erased trace');
expect_error($gl, 403, { message => '403 Forbidden - Job is not erasable!' },
    sub { $gl->erase_job($pid, $second_build->{id}) });

# Protected branches: Maintainers only, so the Developer may not retry there.
my $protected = $gl->protect_branch($pid, { name => 'stable', push_access_level => 40 });
check_eq($protected->{name}, 'stable', 'protect_branch');
check_eq($gl->protected_branch($pid, 'stable')->{push_access_levels}[0]{access_level}, 40,
    'protected_branch');
$gl->create_commit($pid, { branch => 'stable', start_branch => 'main', commit_message => 'stable',
    actions => [{ action => 'create', file_path => 'STABLE', content => "stable\n" }] });
my $stable = wait_for('the stable pipeline', sub { $gl->pipelines($pid, { ref => 'stable' })->[0] });
wait_for('the stable build', sub { job_named('build', $stable->{id})->{status} eq 'success' });
my $stable_build = job_named('build', $stable->{id});
expect_error($dev->{api}, 403, { message => '403 Forbidden' },
    sub { $dev->{api}->retry_job($pid, $stable_build->{id}) });

# Bridges (no method in this client version: called through its REST client).
$gl->create_commit($pid, { branch => 'main', commit_message => 'child', actions => [
    { action => 'update', file_path => '.gitlab-ci.yml',
      content => "child:\n  trigger:\n    include: child.yml\n    strategy: depend\n" },
    { action => 'create', file_path => 'child.yml', content => "child-job:\n  script: echo hi\n" },
] });
my %known = map { $_ => 1 } ($first, $second, $stable->{id});
my $parent = wait_for('the parent pipeline', sub {
    (grep { !$known{ $_->{id} } } @{ $gl->pipelines($pid, { source => 'push' }) })[0] });
wait_for('the parent to succeed', sub { $gl->pipeline($pid, $parent->{id})->{status} eq 'success' });
my $bridges = $gl->_call_rest_client('GET', 'projects/:project_id/pipelines/:pipeline_id/bridges',
    [$pid, $parent->{id}], {});
check_eq([map { $_->{name} } @$bridges], ['child'], 'bridges');
my $child = $gl->pipeline($pid, $bridges->[0]{downstream_pipeline}{id});
check_eq($child->{source}, 'parent_pipeline', 'child source');
check_eq([map { $_->{name} } @{ $gl->pipeline_jobs($pid, $child->{id}) }], ['child-job'],
    'child jobs');

print "perl GitLab::API::v4: all checks passed\n";
