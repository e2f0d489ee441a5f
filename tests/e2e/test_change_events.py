"""AWS change events drive verification, against the real API server and moto.

deploy/aws/change-events.yaml is deployed into moto with CloudFormation. moto's CloudFormation
has no AWS::SQS::QueuePolicy (nor AWS::Events::EventBusPolicy, unused with no SourceAccounts):
the queue policy is set through SQS's own API from the template's own document, and said so
below. Each change is made for real in moto, then the event CloudTrail would emit for it (the
documented record shape, tests/trail_events.py) is put on the default bus with
events.put_events: the template's rules route it to the queue by their own patterns. Nothing is
written straight into the queue.

verifyInterval is 1 h (and the operator's default too): no timer can help. For a change of each
layer (bucket policy, role policy, key policy, SCP, Block Public Access, trust policy) the affected
objects go Ready=False within a deadline with the new reason, the others' status does not change, reverting makes
it Ready=True again, and a burst of 20 copies of one event costs one pass.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from devenv.controlplane import ControlPlane, free_port
from devenv.org_world import MANAGEMENT, OrgWorld, doc, unique
from tests.e2e.kube import condition, create, ensure_namespace, get_ba, wait_for, wait_ready
from tests.e2e.operator_proc import OperatorProcess
from tests.manifests import access_class, bucket_access
from tests.trail_events import cloudtrail_event

pytestmark = pytest.mark.e2e
NS, CLASS = "change-events", "change-events"
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "aws" / "change-events.yaml"
PUT = doc({"Sid": "AllowPut", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "*"})
PUT_KMS = doc(
    {"Effect": "Allow", "Action": ["s3:PutObject", "kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}
)
DEADLINE_S = 20.0  # a long poll (20 s) is interrupted by the first message: seconds, not intervals
LATENCIES: list[float] = []


STACK = "bucketaccess-change-events"
OBJECTS = ("a", "b", "c", "d", "e")


def deploy_template(org_world: OrgWorld) -> str:
    """The stack in moto, once per moto server (the fault tests use it too); returns the queue URL
    (the stack's output). Its queue has the name deploy/iam/operator-policy.json allows."""
    cfn = org_world.client("cloudformation")
    name = STACK
    existing = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == name]
    if any(s["StackStatus"] == "CREATE_COMPLETE" for s in existing):
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        return str({o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["QueueUrl"])
    cfn.create_stack(
        StackName=name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": "QueueName", "ParameterValue": "bucketaccess-change-events"}],
    )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", ())}
    url = outputs["QueueUrl"]
    # moto's CloudFormation has no AWS::SQS::QueuePolicy: the template's own statement, with its
    # references resolved from the stack, set through SQS's API
    events = org_world.client("events")
    rules = {r["Name"]: r["Arn"] for r in events.list_rules(NamePrefix="bucketaccess-change-events")["Rules"]}
    assert len(rules) == 7, rules
    sqs = org_world.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    template = yaml.safe_load(TEMPLATE.read_text())
    (statement,) = template["Resources"]["QueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    statement = {
        **statement,
        "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": sorted(rules.values())}},
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(doc(statement))})
    return str(url)


IRSA_HOST = "oidc.eks.us-east-1.amazonaws.com/id/EVENTSCLUSTER"


def partner_and_public(bucket: str, partner_role: str) -> dict[str, Any]:
    return doc(
        {
            "Sid": "PartnerUploads",
            "Effect": "Allow",
            "Principal": {"AWS": partner_role},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
        {
            "Sid": "PublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
    )


def irsa_trust(account: str, service_account: str) -> dict[str, Any]:
    """IRSA's trust policy for one ServiceAccount of NS (this operator has no --cluster-name: it
    takes the issuer the trust names)."""
    return doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{IRSA_HOST}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{IRSA_HOST}:sub": f"system:serviceaccount:{NS}:{service_account}"}
            },
        }
    )


@pytest.fixture(scope="module")
def world(org_world: OrgWorld) -> dict[str, str]:
    a, b, c = unique("events-a"), unique("events-b"), unique("events-c")
    role_a, role_b, role_c = unique("events-role-a"), unique("events-role-b"), unique("events-role-c")
    seeded = org_world.seed(
        {
            "roles": [
                {"name": role_a, "inline": {"put": PUT}},
                {"name": role_b, "managed": {unique("events-put"): PUT}},
                {"name": role_c, "inline": {"put": PUT_KMS}},
            ],
            "keys": [{"ref": "c"}],
            "buckets": [
                {"name": a},
                {"name": b},
                {"name": c, "encryption": {"algorithm": "aws:kms", "key": "c", "bucketKeyEnabled": False}},
            ],
        }
    )
    iam = org_world.client("iam")
    (policy,) = iam.list_attached_role_policies(RoleName=role_b)["AttachedPolicies"]
    w, p = org_world.workloads, org_world.partners
    # d: a role of the partners account uploads to a bucket whose policy also lets anyone read
    # (public): Block Public Access's RestrictPublicBuckets would void the cross-account grant
    d, role_d = unique("events-d"), unique("events-role-d")
    org_world.seed({"roles": [{"name": role_d, "inline": {"put": PUT}}]}, account=p)
    org_world.seed(
        {"buckets": [{"name": d, "policy": partner_and_public(d, f"arn:aws:iam::{p}:role/{role_d}")}]}
    )
    # e: a ServiceAccount's role (IRSA), whose trust policy lets that ServiceAccount assume it
    e, role_e = unique("events-e"), unique("events-role-e")
    org_world.seed({"roles": [{"name": role_e, "inline": {"put": PUT}, "trust": irsa_trust(w, "uploader")}]})
    org_world.seed({"buckets": [{"name": e}]})
    org_world.oidc_provider(f"https://{IRSA_HOST}")  # STS accepts no token of an issuer without one
    return {
        "bucket_d": d,
        "role_d": f"arn:aws:iam::{p}:role/{role_d}",
        "bucket_e": e,
        "role_e": f"arn:aws:iam::{w}:role/{role_e}",
        "role_e_name": role_e,
        "bucket_a": a,
        "bucket_b": b,
        "role_a": f"arn:aws:iam::{w}:role/{role_a}",
        "role_b": f"arn:aws:iam::{w}:role/{role_b}",
        "role_b_name": role_b,
        "policy_b": policy["PolicyArn"],
        "bucket_c": c,
        "role_c": f"arn:aws:iam::{w}:role/{role_c}",
        "key_c": seeded.keys["c"],
    }


@pytest.fixture(scope="module")
def operator(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    world: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    url = deploy_template(org_world)
    ensure_namespace(kube, NS, {"team": "change-events"})
    create(kube, access_class(CLASS, namespace_labels={"team": "change-events"}, buckets=("events-*",)))
    for name, bucket, role in (
        ("a", world["bucket_a"], world["role_a"]),
        ("b", world["bucket_b"], world["role_b"]),
        ("c", world["bucket_c"], world["role_c"]),
        ("d", world["bucket_d"], world["role_d"]),
    ):
        create(
            kube,
            bucket_access(name, NS, cls=CLASS, bucket=bucket, prefix="in/", role=role, verifyInterval="1h"),
        )
    client.CoreV1Api(kube).create_namespaced_service_account(
        NS, {"metadata": {"name": "uploader", "annotations": {"eks.amazonaws.com/role-arn": world["role_e"]}}}
    )
    create(
        kube,
        bucket_access(
            "e",
            NS,
            cls=CLASS,
            bucket=world["bucket_e"],
            prefix="in/",
            service_account="uploader",
            verifyInterval="1h",
        ),
    )
    log = tmp_path_factory.mktemp("change-events-operator") / "operator.log"
    args = [
        *("--namespace", NS, "--state-namespace", NS),
        *org_world.operator_args(),
        *("--default-interval", "1h", "--metrics-port", str(free_port()), "--event-queue-url", url),
    ]
    with OperatorProcess(control_plane.kubeconfig, log, args, env=org_world.operator_env()) as proc:
        for name in OBJECTS:
            wait_ready(kube, NS, name, "True")
        yield proc


def put_event(org_world: OrgWorld, event: dict[str, Any], copies: int = 1) -> None:
    """On the default bus, as CloudTrail hands it to EventBridge: the rules route it."""
    entry = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event["resources"],
    }
    events = org_world.client("events")
    for start in range(0, copies, 10):
        answer = events.put_events(Entries=[entry] * min(10, copies - start))
        assert answer["FailedEntryCount"] == 0, answer


def status_of(kube: client.ApiClient, name: str) -> dict[str, Any]:
    return dict(get_ba(kube, NS, name).get("status") or {})


def calls_by_service(operator: OperatorProcess) -> dict[str, float]:
    """bucketaccess_aws_calls_total by service, from the operator's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    port = operator.args[operator.args.index("--metrics-port") + 1]
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "bucketaccess_aws_calls_total":
                service = sample.labels["service"]
                out[service] = out.get(service, 0.0) + sample.value
    return out


def ready_within(kube: client.ApiClient, name: str, status: str, since: float) -> dict[str, Any]:
    found = wait_ready(kube, NS, name, status, timeout=DEADLINE_S)
    LATENCIES.append(time.monotonic() - since)
    return found


def announce(
    org_world: OrgWorld,
    kube: client.ApiClient,
    change: tuple[str, str, dict[str, Any]],
    expect: tuple[str, str],
    account: str | None = None,
) -> None:
    """Put the event of ``change`` (service, API call, requestParameters) and wait for the object
    ``expect[0]`` to show Ready=``expect[1]``, timing it."""
    start = time.monotonic()
    service, call, request = change
    put_event(org_world, cloudtrail_event(service, call, request, account=account or org_world.workloads))
    ready_within(kube, expect[0], expect[1], start)


def test_a_deny_added_to_a_bucket_policy_shows_in_seconds_and_only_on_its_object(
    operator: OperatorProcess, kube: client.ApiClient, org_world: OrgWorld, world: dict[str, str]
) -> None:
    bucket = world["bucket_a"]
    other = status_of(kube, "b")
    deny = doc(
        {
            "Sid": "NoUploads",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    )
    s3 = org_world.client("s3")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    calls = calls_by_service(operator)
    start = time.monotonic()
    put_event(
        org_world,
        cloudtrail_event(
            "s3", "PutBucketPolicy", {"bucketName": bucket, "bucketPolicy": deny}, account=org_world.workloads
        ),
    )
    broken = ready_within(kube, "a", "False", start)
    assert "NoUploads" in (condition(broken, "Ready") or {}).get("message", "") or condition(broken, "Ready")
    assert status_of(kube, "b") == other  # untouched: no pass, no write
    # the event cost reads of the changed bucket only (the queue's own calls aside): no cycle
    spent = {k: v - calls.get(k, 0.0) for k, v in calls_by_service(operator).items()}
    spent = {k: v for k, v in spent.items() if v and k not in ("sqs", "sts")}
    assert set(spent) == {"s3"}, spent
    print(f"\nAWS calls for one bucket-policy event: {spent}")
    s3.delete_bucket_policy(Bucket=bucket)
    announce(org_world, kube, ("s3", "DeleteBucketPolicy", {"bucketName": bucket}), ("a", "True"))
    assert status_of(kube, "b") == other


def test_a_role_policy_detached_shows_in_seconds_and_only_on_its_object(
    operator: OperatorProcess, kube: client.ApiClient, org_world: OrgWorld, world: dict[str, str]
) -> None:
    iam = org_world.client("iam")
    other = status_of(kube, "a")
    role, policy = world["role_b_name"], world["policy_b"]
    request = {"roleName": role, "policyArn": policy}
    iam.detach_role_policy(RoleName=role, PolicyArn=policy)
    announce(org_world, kube, ("iam", "DetachRolePolicy", request), ("b", "False"))
    assert status_of(kube, "a") == other
    iam.attach_role_policy(RoleName=role, PolicyArn=policy)
    announce(org_world, kube, ("iam", "AttachRolePolicy", request), ("b", "True"))
    assert status_of(kube, "a") == other


def test_a_burst_of_copies_costs_one_pass_and_malformed_or_unrelated_events_none(
    operator: OperatorProcess, kube: client.ApiClient, org_world: OrgWorld, world: dict[str, str]
) -> None:
    before = operator.metrics()
    event = cloudtrail_event(
        "s3", "PutBucketAcl", {"bucketName": world["bucket_a"], "acl": [""]}, account=org_world.workloads
    )
    put_event(org_world, event, copies=20)
    # a call of the table without its resource: malformed, counted, deleted
    put_event(org_world, cloudtrail_event("s3", "PutBucketPolicy", {"Host": "s3.amazonaws.com"}))
    # a bucket no object uses: nothing scheduled
    put_event(
        org_world,
        cloudtrail_event(
            "s3", "PutBucketPolicy", {"bucketName": unique("events-none")}, account=org_world.workloads
        ),
    )

    def received() -> dict[str, float] | None:
        now = operator.metrics()
        done = now.get("bucketaccess_change_events_received_total", 0) - before.get(
            "bucketaccess_change_events_received_total", 0
        )
        return now if done >= 22 else None

    wait_for(received, DEADLINE_S, "22 messages received")
    # the pass it scheduled, counted by the operator (lastVerifiedTime has one-second resolution: a
    # pass in the same second as the one before changes nothing a client sees)
    passes = "bucketaccess_verify_duration_seconds_count"
    wait_for(
        lambda: operator.metrics().get(passes, 0) > before.get(passes, 0) or None, DEADLINE_S, "a's pass"
    )
    time.sleep(2.0)  # any second pass would have started by now
    after = operator.metrics()

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert delta("bucketaccess_verify_duration_seconds_count") == 1  # one pass, of a only
    assert delta("bucketaccess_change_events_mapped_total") == 1
    assert delta("bucketaccess_change_events_objects_scheduled_total") == 1
    assert delta("bucketaccess_change_events_ignored_total") == 20  # 19 duplicates, 1 without objects
    assert delta("bucketaccess_change_events_malformed_total") == 1
    assert delta("bucketaccess_change_events_received_total") == 22
    # every message was deleted: none waits, none is in flight
    sqs = org_world.client("sqs")
    url = operator.args[operator.args.index("--event-queue-url") + 1]
    attrs = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=attrs)["Attributes"]
    assert left == dict.fromkeys(attrs, "0")


def test_a_key_user_removed_shows_in_seconds_on_the_objects_of_that_key_only(
    operator: OperatorProcess, kube: client.ApiClient, org_world: OrgWorld, world: dict[str, str]
) -> None:
    """The key of bucket c's default encryption: the object finds it through the bucket as last read."""
    kms = org_world.client("kms")
    key = world["key_c"]
    others = {n: status_of(kube, n) for n in ("a", "b")}
    before = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    admins_only = doc(
        {
            "Sid": "AdminsOnly",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:role/key-admin"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    change = ("kms", "PutKeyPolicy", {"keyId": key, "policyName": "default"})
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(admins_only))
    announce(org_world, kube, change, ("c", "False"))
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=before)
    announce(org_world, kube, change, ("c", "True"))
    assert {n: status_of(kube, n) for n in ("a", "b")} == others


def test_an_scp_attached_shows_in_seconds_on_every_object_of_the_account(
    operator: OperatorProcess, kube: client.ApiClient, org_world: OrgWorld
) -> None:
    """An SCP reaches the accounts under its target: the objects whose role is in one of them (a,
    b, c, e: their roles are in the workloads account, under the workloads OU), and not d, whose
    role is in the partners account though its bucket is in workloads."""
    org = org_world.seeder.client("organizations", MANAGEMENT)
    policy = next(
        p for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] if p["Name"] == "DenyS3"
    )
    target = org_world.org["ous"]["workloads"]
    request = {"policyId": policy["Id"], "targetId": target}
    outside = status_of(kube, "d")
    org_world.attach_scp("DenyS3", "workloads")
    try:
        start = time.monotonic()
        put_event(org_world, cloudtrail_event("organizations", "AttachPolicy", request, account=MANAGEMENT))
        for name in ("a", "b", "c", "e"):
            ready_within(kube, name, "False", start)
    finally:
        org_world.detach_scp("DenyS3", "workloads")
    assert status_of(kube, "d") == outside  # no pass: its role's account is not under the OU
    start = time.monotonic()
    put_event(org_world, cloudtrail_event("organizations", "DetachPolicy", request, account=MANAGEMENT))
    for name in ("a", "b", "c", "e"):
        ready_within(kube, name, "True", start)
    assert status_of(kube, "d") == outside


def others(kube: client.ApiClient, changed: str) -> dict[str, dict[str, Any]]:
    return {n: status_of(kube, n) for n in OBJECTS if n != changed}


def test_block_public_access_turned_on_voids_a_cross_account_grant_on_that_bucket_only(
    operator: OperatorProcess, kube: client.ApiClient, org_world: OrgWorld, world: dict[str, str]
) -> None:
    """RestrictPublicBuckets with a public bucket policy (PublicRead): every grant to another
    account is void, so d's partner role may no longer upload."""
    s3, bucket = org_world.client("s3"), world["bucket_d"]
    before = others(kube, "d")
    block = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy"), False)
    block["RestrictPublicBuckets"] = True
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)
    request = {"bucketName": bucket, "PublicAccessBlockConfiguration": block}
    announce(org_world, kube, ("s3", "PutBucketPublicAccessBlock", request), ("d", "False"))
    broken = get_ba(kube, NS, "d")
    blocking = condition(broken, "PublicAccessBlockAllows") or {}
    assert (blocking.get("status"), blocking.get("reason")) == ("False", "PublicPolicyRestricted")
    # Ready names the first failing layer in the status's order: the bucket policy, whose one
    # grant to d's role is void
    assert (condition(broken, "Ready") or {}).get("reason") == "NoWriteGrant"
    assert others(kube, "d") == before
    s3.delete_public_access_block(Bucket=bucket)
    announce(org_world, kube, ("s3", "DeleteBucketPublicAccessBlock", {"bucketName": bucket}), ("d", "True"))
    assert others(kube, "d") == before


def test_a_trust_policy_that_no_longer_trusts_the_workload_shows_on_its_object_only(
    operator: OperatorProcess, kube: client.ApiClient, org_world: OrgWorld, world: dict[str, str]
) -> None:
    """e's role trusts another ServiceAccount: the workload cannot assume it (RoleAssumable False)."""
    iam, role = org_world.client("iam"), world["role_e_name"]
    before = others(kube, "e")
    for trusted, ready in (("someone-else", "False"), ("uploader", "True")):
        trust = json.dumps(irsa_trust(org_world.workloads, trusted))
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust)
        request = {"roleName": role, "policyDocument": trust}
        announce(org_world, kube, ("iam", "UpdateAssumeRolePolicy", request), ("e", ready))
        assumable = condition(get_ba(kube, NS, "e"), "RoleAssumable") or {}
        if ready == "False":
            assert (assumable.get("status"), assumable.get("reason")) == ("False", "TrustConditionNotMet")
            assert (condition(get_ba(kube, NS, "e"), "Ready") or {}).get("reason") == "TrustConditionNotMet"
        assert others(kube, "e") == before


def test_latency_figures() -> None:
    """Event put on the bus -> Ready changed, over the changes above (printed for the report)."""
    if not LATENCIES:
        pytest.skip("no change measured")
    ordered = sorted(LATENCIES)
    print(
        f"\nevent -> Ready changed: n={len(ordered)} median={ordered[len(ordered) // 2]:.2f}s max={ordered[-1]:.2f}s"
    )
