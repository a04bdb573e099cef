"""The CloudFormation flow: moto for the artifact bucket and uploads, botocore's Stubber for
change sets and streamed stack events (moto cannot run the SAM transform)."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from tools.deploy import build, stack
from tools.deploy.errors import DeployError, StackFailed

REGION = "eu-west-1"
NAME = "mars"
STACK_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/{NAME}/1"
T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def _client(service="cloudformation"):
    return boto3.client(service, region_name=REGION, aws_access_key_id="x",
                        aws_secret_access_key="y")


def event(n, logical, status, rtype="AWS::Lambda::Function", reason=None):
    e = {"StackId": STACK_ID, "EventId": f"e{n}", "StackName": NAME,
         "LogicalResourceId": logical, "ResourceType": rtype, "ResourceStatus": status,
         "Timestamp": T0 + dt.timedelta(seconds=n)}
    if reason:
        e["ResourceStatusReason"] = reason
    return e


def stack_event(n, status, reason=None):
    return event(n, NAME, status, "AWS::CloudFormation::Stack", reason)


def missing(stubber):
    stubber.add_client_error("describe_stacks", "ValidationError",
                             f"Stack with id {NAME} does not exist", 400)


def described(status, outputs=None, parameters=None):
    s = {"StackName": NAME, "StackId": STACK_ID, "StackStatus": status, "CreationTime": T0}
    if outputs is not None:
        s["Outputs"] = [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]
    if parameters is not None:
        s["Parameters"] = [{"ParameterKey": k, "ParameterValue": v}
                           for k, v in parameters.items()]
    return {"Stacks": [s]}


def change_set_ready(stubber, changes=2):
    """The boto3 waiter polls until CREATE_COMPLETE; then the deploy reads the changes."""
    stubber.add_response("describe_change_set", {"Status": "CREATE_PENDING",
                                                 "ExecutionStatus": "UNAVAILABLE"})
    complete = {"Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE",
                "Changes": [{"Type": "Resource", "ResourceChange": {
                    "Action": "Add", "LogicalResourceId": f"R{i}",
                    "ResourceType": "AWS::S3::Bucket"}} for i in range(changes)]}
    stubber.add_response("describe_change_set", complete)
    stubber.add_response("describe_change_set", complete)


def run_deploy(cfn, lines, parameters=None, confirm=None):
    return stack.deploy(cfn, NAME, "https://b.s3.eu-west-1.amazonaws.com/t.json",
                        parameters or {"RobotNames": "sts-pi", "NasaApiKey": None},
                        emit=lines.append, sleep=lambda s: None, change_set_name="cs1",
                        poll_s=0, confirm=confirm)


def test_create_streams_events_with_progress_and_succeeds():
    cfn = _client()
    lines: list[str] = []
    with Stubber(cfn) as stub:
        missing(stub)
        stub.add_response("create_change_set", {"Id": "cs", "StackId": STACK_ID}, {
            "StackName": NAME, "ChangeSetName": "cs1", "ChangeSetType": "CREATE",
            "TemplateURL": "https://b.s3.eu-west-1.amazonaws.com/t.json",
            # a new stack takes the template's defaults for what was not given
            "Parameters": [{"ParameterKey": "RobotNames", "ParameterValue": "sts-pi"}],
            "Capabilities": stack.CAPABILITIES, "Tags": [], "Description": ANY})
        change_set_ready(stub)
        stub.add_response("describe_stack_events",
                          {"StackEvents": [stack_event(0, "REVIEW_IN_PROGRESS")]})
        stub.add_response("execute_change_set", {}, {"StackName": NAME, "ChangeSetName": "cs1"})
        stub.add_response("describe_stack_events", {"StackEvents": [
            event(2, "R0", "CREATE_IN_PROGRESS"), stack_event(1, "CREATE_IN_PROGRESS"),
            stack_event(0, "REVIEW_IN_PROGRESS")]})
        stub.add_response("describe_stack_events", {"StackEvents": [
            stack_event(5, "CREATE_COMPLETE"), event(4, "R1", "CREATE_COMPLETE"),
            event(3, "R0", "CREATE_COMPLETE"), event(2, "R0", "CREATE_IN_PROGRESS"),
            stack_event(1, "CREATE_IN_PROGRESS"), stack_event(0, "REVIEW_IN_PROGRESS")]})
        assert run_deploy(cfn, lines) is True
        stub.assert_no_pending_responses()
    progress = [line for line in lines if line.strip().startswith("[")]
    # each event once, oldest first, with a done/total counter and the elapsed time
    assert [p.split()[3] for p in progress] == ["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS",
                                                "CREATE_COMPLETE", "CREATE_COMPLETE",
                                                "CREATE_COMPLETE"]
    assert progress[2].strip().startswith("[  1/2]")
    assert progress[3].strip().startswith("[  2/2]")
    assert "changes: 2 add" in lines


def test_no_change_is_a_no_op():
    cfn = _client()
    lines: list[str] = []
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", described("UPDATE_COMPLETE"))
        stub.add_response("create_change_set", {"Id": "cs", "StackId": STACK_ID}, {
            "StackName": NAME, "ChangeSetName": "cs1", "ChangeSetType": "UPDATE",
            "TemplateURL": ANY, "Capabilities": ANY, "Tags": [], "Description": ANY,
            # an update keeps the secret it was given before instead of resetting it
            "Parameters": [{"ParameterKey": "NasaApiKey", "UsePreviousValue": True},
                           {"ParameterKey": "RobotNames", "ParameterValue": "sts-pi"}]})
        stub.add_response("describe_change_set", {
            "Status": "FAILED", "ExecutionStatus": "UNAVAILABLE",
            "StatusReason": "The submitted information didn't contain changes. Submit "
                            "different information to create a change set."})
        stub.add_response("delete_change_set", {}, {"StackName": NAME, "ChangeSetName": "cs1"})
        assert run_deploy(cfn, lines) is False
        stub.assert_no_pending_responses()  # in particular: execute_change_set never called
    assert lines[-1] == "stack mars is up to date: nothing to change"


def test_a_failed_update_reports_the_first_failing_resource():
    cfn = _client()
    lines: list[str] = []
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", described("CREATE_COMPLETE"))
        stub.add_response("create_change_set", {"Id": "cs", "StackId": STACK_ID})
        change_set_ready(stub, 3)
        stub.add_response("describe_stack_events", {"StackEvents": []})
        stub.add_response("execute_change_set", {})
        stub.add_response("describe_stack_events", {"StackEvents": [
            stack_event(9, "UPDATE_ROLLBACK_COMPLETE"),
            event(8, "Api", "UPDATE_FAILED", "AWS::ApiGateway::RestApi",
                  "Resource update cancelled"),
            stack_event(7, "UPDATE_ROLLBACK_IN_PROGRESS",
                        "The following resource(s) failed to create: [UserPoolDomain]."),
            event(6, "UserPoolDomain", "CREATE_FAILED", "AWS::Cognito::UserPoolDomain",
                  "Domain already associated with another user pool."),
            event(5, "Thingstspi", "CREATE_COMPLETE", "AWS::IoT::Thing"),
            stack_event(4, "UPDATE_IN_PROGRESS")]})
        with pytest.raises(StackFailed) as failed:
            run_deploy(cfn, lines)
    message = str(failed.value)
    assert "UPDATE_ROLLBACK_COMPLETE" in message
    assert "UserPoolDomain (AWS::Cognito::UserPoolDomain): Domain already associated" in message
    assert "\n" not in message


def test_a_stack_that_never_got_created_must_be_removed_first():
    cfn = _client()
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", described("ROLLBACK_COMPLETE"))
        with pytest.raises(StackFailed, match="destroy --stack mars"):
            run_deploy(cfn, [])


def test_a_busy_stack_is_left_alone():
    cfn = _client()
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", described("UPDATE_IN_PROGRESS"))
        with pytest.raises(DeployError, match="busy"):
            run_deploy(cfn, [])
        stub.assert_no_pending_responses()


def test_events_are_paged_until_the_last_seen_one():
    cfn = _client()
    with Stubber(cfn) as stub:
        stub.add_response("describe_stack_events", {
            "StackEvents": [event(4, "B", "CREATE_COMPLETE"), event(3, "A", "CREATE_COMPLETE")],
            "NextToken": "page2"})
        stub.add_response("describe_stack_events", {
            "StackEvents": [event(2, "A", "CREATE_IN_PROGRESS"), event(1, "X", "OLD")]},
            {"StackName": NAME, "NextToken": "page2"})
        fresh = stack._new_events(cfn, NAME, {"e1"})
    assert [e["EventId"] for e in fresh] == ["e2", "e3", "e4"]


def test_first_failure_skips_cancellations():
    events = [event(1, "A", "CREATE_FAILED", reason="Resource creation cancelled"),
              event(2, "B", "CREATE_FAILED", "AWS::IAM::Role", reason="Not authorized")]
    assert stack.first_failure(events) == "B (AWS::IAM::Role): Not authorized"
    assert stack.first_failure([]) == "no failure reason was reported"


def test_the_change_set_is_shown_and_declining_changes_nothing():
    cfn = _client()
    lines: list[str] = []
    asked: list[str] = []

    def no(question):
        asked.append(question)
        lines.append("<asked>")
        return False

    with Stubber(cfn) as stub:
        missing(stub)
        stub.add_response("create_change_set", {"Id": "cs", "StackId": STACK_ID})
        change_set_ready(stub, 2)
        stub.add_response("delete_change_set", {}, {"StackName": NAME, "ChangeSetName": "cs1"})
        # a CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS: it goes too
        stub.add_response("delete_stack", {}, {"StackName": NAME})
        with pytest.raises(stack.Declined, match="not changed"):
            run_deploy(cfn, lines, confirm=no)
        stub.assert_no_pending_responses()  # execute_change_set never called
    assert asked == ["execute this change set on stack mars?"]
    shown = lines[:lines.index("<asked>")]
    assert any("Add" in line and "AWS::S3::Bucket" in line and "R1" in line for line in shown)
    assert "changes: 2 add" in shown


def test_replacements_are_flagged_in_the_summary():
    lines = stack.change_summary([
        {"Action": "Modify", "ResourceType": "AWS::Cognito::UserPool",
         "LogicalResourceId": "UserPool", "Replacement": "True"},
        {"Action": "Remove", "ResourceType": "AWS::IoT::Thing", "LogicalResourceId": "Thingx"}])
    assert lines[0].endswith("UserPool  (replacement)")
    assert lines[-1] == "changes: 1 modify, 1 remove"


def test_a_failed_change_set_names_its_reason():
    cfn = _client()
    with Stubber(cfn) as stub:
        missing(stub)
        stub.add_response("create_change_set", {"Id": "cs", "StackId": STACK_ID})
        stub.add_response("describe_change_set", {
            "Status": "FAILED", "StatusReason": "Template format error: bad"})
        with pytest.raises(StackFailed, match="Template format error: bad"):
            run_deploy(cfn, [])


def test_the_project_template_needs_no_named_iam():
    from tools.deploy import template

    assert stack.capabilities(template.expand(template.load())) == [
        "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    named = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}}}
    assert "CAPABILITY_NAMED_IAM" in stack.capabilities(named)


def test_the_event_watch_stops_on_wall_time_not_on_its_own_sleeps():
    cfn = _client()
    now = [0.0]

    def slow_poll(seconds):  # every poll costs a minute of real time (throttled API, etc.)
        now[0] += 60

    with Stubber(cfn) as stub:
        for _ in range(3):
            stub.add_response("describe_stack_events",
                              {"StackEvents": [event(1, "A", "CREATE_IN_PROGRESS")]})
        with pytest.raises(DeployError, match="did not finish within 120 s"):
            stack.watch(cfn, NAME, {"e1"}, 1, emit=lambda _: None, poll_s=1, sleep=slow_poll,
                        timeout_s=120, clock=lambda: now[0])


def test_check_ours_refuses_an_untagged_stack():
    with pytest.raises(DeployError, match="no tag project=mars-robot"):
        stack.check_ours({"StackName": "payroll", "Tags": [{"Key": "team", "Value": "hr"}]})
    stack.check_ours({"StackName": "mars", "Tags": [{"Key": "project", "Value": "mars-robot"}]})


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    from moto import mock_aws  # here: only the worker running this file loads moto

    with mock_aws():
        yield _client("s3")


ACCOUNT = "123456789012"  # moto's default account: the deploying one


def test_artifact_bucket_is_private_and_uploads_are_content_addressed(s3, tmp_path):
    from testing.s3_owner import enforce

    owner_log = enforce(s3)
    bucket = stack.new_artifact_bucket_name(NAME)
    assert bucket != stack.new_artifact_bucket_name(NAME) and len(bucket) <= 63
    stack.ensure_bucket(s3, bucket, REGION, ACCOUNT, emit=lambda _: None)
    stack.ensure_bucket(s3, bucket, REGION, ACCOUNT, emit=lambda _: None)  # idempotent
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    artifacts = build.build_all(tmp_path / "build", skip_deps=True)
    lines: list[str] = []
    locations = stack.upload_artifacts(s3, bucket, NAME, artifacts.values(), ACCOUNT,
                                       lines.append)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == sorted(key for _, key in locations.values())
    assert locations["build/code"] == (bucket, f"{NAME}/{artifacts['build/code'].key}")
    again: list[str] = []
    stack.upload_artifacts(s3, bucket, NAME, artifacts.values(), ACCOUNT, again.append)
    assert all(line.startswith("unchanged") for line in again)
    url = stack.upload_template(s3, bucket, NAME, '{"Resources": {}}', REGION, ACCOUNT)
    assert url.startswith(f"https://{bucket}.s3.{REGION}.amazonaws.com/{NAME}/template-")
    body = s3.get_object(Bucket=bucket, Key=url.split(".amazonaws.com/")[1])["Body"].read()
    assert body == b'{"Resources": {}}'
    # every call the tool made named the owner; only this test's own reads did not
    test_reads = {"GetObject", "ListObjectsV2", "GetPublicAccessBlock", "GetBucketEncryption"}
    assert {c[0] for c in owner_log.unconditional()} == test_reads
    assert {c[2] for c in owner_log.calls if c[0] not in test_reads | {"CreateBucket"}} == {
        ACCOUNT}


def test_a_bucket_created_first_by_another_account_is_refused(s3, tmp_path, monkeypatch):
    from testing.s3_owner import enforce

    bucket = stack.new_artifact_bucket_name(NAME)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")  # the attacker, who knew the name
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    enforce(s3)
    with pytest.raises(stack.BucketNotOurs, match=f"s3://{bucket} exists but does not belong "
                                                  f"to account {ACCOUNT}"):
        stack.ensure_bucket(s3, bucket, REGION, ACCOUNT, emit=lambda _: None)
    artifacts = build.build_all(tmp_path / "build", skip_deps=True)
    with pytest.raises(ClientError):  # and were it skipped, no upload would go through
        stack.upload_artifacts(s3, bucket, NAME, artifacts.values(), ACCOUNT, lambda _: None)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_empty_bucket_removes_every_version(s3):
    s3.create_bucket(Bucket="mars-store", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="mars-store", VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        s3.put_object(Bucket="mars-store", Key="mars/bmp/a.bmp", Body=bytes([i]))
    assert stack.empty_bucket(s3, "mars-store", ACCOUNT, emit=lambda _: None) == 3
    assert "Versions" not in s3.list_object_versions(Bucket="mars-store")
    assert stack.empty_bucket(s3, "no-such-bucket-here", ACCOUNT, emit=lambda _: None) == 0
