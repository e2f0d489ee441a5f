"""The operator's IAM policies (deploy/iam/) against every AWS operation its reader and writer
make, driven here over moto with the operator's own credentials: every call is allowed, and every
action the policies list is used by some call, so they hold no more than the operator needs.

Self-contained (it makes the calls it checks), so it depends on no other test having run.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3.session
import pytest

from bucketaccess.access.intent import UploadIntent
from bucketaccess.aws import snapshot
from bucketaccess.aws.boto import BotoReader
from bucketaccess.aws.queue import EventQueue
from bucketaccess.aws.writer import BotoWriter
from devenv.org_world import MANAGEMENT, READER_ROLE, OrgWorld, doc, unique
from tests.eks_endpoint import EksEndpoint
from tests.iam_policies import TEST_CLUSTER, read_calls, refused, unused
from tests.operator_entry import log_calls

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/TESTCLUSTER"
READ = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})


@contextlib.contextmanager
def logging_calls(path: Path) -> Iterator[Path]:
    """The operator's AWS calls from here on (the test's own seeding comes before)."""
    make_client = boto3.session.Session.client
    log_calls(str(path))
    try:
        yield path
    finally:
        boto3.session.Session.client = make_client  # type: ignore[method-assign]


@pytest.fixture
def operator_credentials(org_world: OrgWorld) -> Iterator[None]:
    env = org_world.operator_env()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_every_call_is_allowed_and_every_listed_action_is_used(
    org_world: OrgWorld, operator_credentials: None, tmp_path: Path
) -> None:
    role, partner_role, bucket = unique("iam-role"), unique("iam-partner"), unique("iam-bucket")
    boundary = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    seeded = org_world.seed(
        {
            "roles": [
                {"name": role, "inline": {"read": READ}, "managed": {"shared": READ}, "boundary": boundary}
            ],
            "keys": [{"ref": "k", "alias": f"alias/{unique('iam')}"}],
            "buckets": [
                {
                    "name": bucket,
                    "policy": doc(
                        {
                            "Sid": "Foreign",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:root"},
                            "Action": "s3:GetObject",
                            "Resource": f"arn:aws:s3:::{bucket}/*",
                        }
                    ),
                    "encryption": {"algorithm": "aws:kms", "key": "k"},
                }
            ],
        }
    )
    org_world.seed({"roles": [{"name": partner_role, "inline": {"read": READ}}]}, account=org_world.partners)
    for account in (org_world.workloads, org_world.partners):
        org_world.oidc_provider(ISSUER, account)
    ec2 = org_world.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName="com.amazonaws.us-east-1.s3",
        VpcEndpointType="Gateway",
        PolicyDocument=json.dumps(READ),
    )["VpcEndpoint"]["VpcEndpointId"]
    # the change-event queue, as deploy/aws/change-events.yaml names it, made with the operator's
    # own credentials (the queue lives in the operator's account)
    sqs = boto3.session.Session().client("sqs", region_name="us-east-1")
    made = "bucketaccess-change-events" not in str(sqs.list_queues().get("QueueUrls", []))
    queue_url = sqs.create_queue(QueueName="bucketaccess-change-events")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="{}")
    org = org_world.seeder.client("organizations", MANAGEMENT)
    (deny,) = [
        p["Id"]
        for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
        if p["Name"] == "DenyS3"
    ]
    with EksEndpoint(org_world.workloads) as eks, logging_calls(tmp_path / "calls.jsonl") as call_log:
        # EKS's Pod Identity reads go to the tests' own endpoint (moto has no such API)
        eks.state.clusters[TEST_CLUSTER] = ISSUER
        eks.state.associate(
            TEST_CLUSTER, "team", "uploader", f"arn:aws:iam::{org_world.workloads}:role/{role}"
        )
        os.environ["AWS_ENDPOINT_URL_EKS"] = eks.url
        try:
            exercise(org_world, role, partner_role, bucket, endpoint, deny)
            consume(queue_url)
        finally:
            os.environ.pop("AWS_ENDPOINT_URL_EKS", None)
            if made:  # the moto server is the session's: the change-event stack creates this queue later
                sqs.delete_queue(QueueUrl=queue_url)
    calls = read_calls(call_log)
    assert len(calls) > 20, "too few AWS calls for this check to mean anything"
    assert refused(calls) == []
    assert unused(calls) == {}
    assert seeded is not None


def consume(queue_url: str) -> None:
    """The change-event consumer's calls: its own identity, the backlog, a receive, a delete."""
    queue = EventQueue(queue_url, "us-east-1", wait_s=1)
    assert queue.caller_arn()
    assert queue.backlog() == 1
    messages = queue.receive()
    assert len(messages) == 1
    assert queue.delete(messages) == []


def exercise(
    org_world: OrgWorld, role: str, partner_role: str, bucket: str, endpoint: str, deny: str
) -> None:
    """Every read of a verification and every write of reconciliation, as the operator makes them."""
    reader = BotoReader(
        region="us-east-1",
        org_reader_role_arn=f"arn:aws:iam::{MANAGEMENT}:role/bucketaccess-org-reader",
        account_reader_role_name=READER_ROLE,
    )
    role_arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    # every read of a verification: role (with managed policy and boundary), bucket, key, account
    # public access block, VPC endpoint, organization; and a role in another account
    snap = snapshot.take(
        reader, UploadIntent(role_arn=role_arn, bucket=bucket, prefix="in/", vpc_endpoint=endpoint)
    )
    assert snap.key_arn is not None and not snap.role_missing
    reader.role(f"arn:aws:iam::{org_world.partners}:role/{partner_role}")
    # a change event's SCP: the accounts under its targets (the restricted OU's one account)
    reach = reader.org_policy_reach(deny, None)
    assert (reach.policy_type, reach.accounts) == ("SERVICE_CONTROL_POLICY", {org_world.restricted})
    # a detach read after the policy was deleted: Organizations no longer knows it, its target does
    gone = reader.org_policy_reach("p-0000dead", (org_world.restricted,))
    assert (gone.policy_type, gone.accounts) == (None, {org_world.restricted})
    # the cluster's OIDC issuer, IRSA's OIDC provider for it (here and in another account) and
    # the cluster's Pod Identity associations
    assert reader.cluster(TEST_CLUSTER).oidc_issuer == ISSUER
    for account in (org_world.workloads, org_world.partners):
        provider = reader.oidc_provider(account, ISSUER)
        assert provider is not None and provider.client_ids == ("sts.amazonaws.com",)
    assert [a.role_arn for a in reader.pod_identity_associations(TEST_CLUSTER, "team", "uploader")] == [
        role_arn
    ]
    # every write of reconciliation
    writer = BotoWriter(reader)
    policy = writer.bucket_policy_text(bucket)
    assert policy is not None
    writer.put_bucket_policy(bucket, policy)
    writer.delete_bucket_policy(bucket)
    key_policy = writer.key_policy_text(snap.key_arn)
    assert key_policy is not None
    writer.put_key_policy(snap.key_arn, key_policy)
    grant = writer.create_grant(
        snap.key_arn,
        role_arn,
        ["Decrypt"],
        "BucketAccess-test",
        {"EncryptionContextSubset": {"aws:s3:arn": f"arn:aws:s3:::{bucket}"}},
    )
    assert [g["GrantId"] for g in writer.grants(snap.key_arn)] == [grant]
    writer.revoke_grant(snap.key_arn, grant)
