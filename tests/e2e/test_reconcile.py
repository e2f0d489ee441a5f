"""Reconciliation end to end: the operator adds Allow grants and key users for admitted requests,
never touches a foreign statement, and takes its share away on deletion."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from kubernetes import client

from bucketaccess.grants.plan import BUCKET_SID, KEY_SID
from devenv.controlplane import ControlPlane
from devenv.org_world import MANAGEMENT, OrgWorld, doc, unique
from tests.e2e.kube import GROUP, VERSION, condition, create, ensure_namespace, get_ba, judged_again, wait_for
from tests.e2e.kube import wait_ready as kube_wait_ready
from tests.e2e.operator_proc import OperatorProcess
from tests.manifests import access_class, bucket_access

pytestmark = pytest.mark.e2e
NS, TENANT = "reconcile", "reconcile-tenant"
ROOT_ADMIN = {
    "Sid": "EnableIAM",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::{account}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
NO_PUT = doc({"Sid": "ReadOnly", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})


def klass(name: str, bucket_policy: str, kms: str, namespace_team: str = "reconcile") -> dict[str, Any]:
    return access_class(
        name, namespace_labels={"team": namespace_team}, bucket_policy=bucket_policy, kms_key_users=kms
    )


@pytest.fixture(scope="module")
def operator(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    ensure_namespace(kube, NS, {"team": "reconcile"})
    ensure_namespace(kube, TENANT, {"team": "tenant"})
    for cls in (
        klass("manage", "Manage", "KeyPolicy"),
        klass("manage-grants", "Manage", "Grant"),
        klass("observe", "Observe", "Observe"),
    ):
        create(kube, cls)
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    args = ["--namespace", NS, "--namespace", TENANT, *org_world.operator_args()]
    with OperatorProcess(control_plane.kubeconfig, log, args, env=org_world.operator_env()) as proc:
        yield proc


def ba(name: str, bucket: str, role: str, cls: str = "manage", ns: str = NS, **spec: Any) -> dict[str, Any]:
    return bucket_access(name, ns, cls=cls, bucket=bucket, prefix="uploads/", role=role, **spec)


def ready(
    kube: client.ApiClient, name: str, status: str, ns: str = NS, timeout: float = 60
) -> dict[str, Any]:
    return kube_wait_ready(kube, ns, name, status, timeout)


def policy(org_world: OrgWorld, bucket: str) -> str | None:
    s3 = org_world.client("s3")
    try:
        return str(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucketPolicy":
            return None
        raise


def statements(text: str | None) -> list[dict[str, Any]]:
    if not text:
        return []
    raw = json.loads(text)["Statement"]
    return [raw] if isinstance(raw, dict) else raw


def foreign(text: str | None) -> list[str]:
    return [
        json.dumps(s)
        for s in statements(text)
        if not BUCKET_SID.match(str(s.get("Sid", ""))) and not KEY_SID.match(str(s.get("Sid", "")))
    ]


def managed_principals(text: str | None) -> set[str]:
    out: set[str] = set()
    for s in statements(text):
        if BUCKET_SID.match(str(s.get("Sid", ""))) or KEY_SID.match(str(s.get("Sid", ""))):
            aws = s["Principal"]["AWS"]
            out |= {aws} if isinstance(aws, str) else set(aws)
    return out


def gone(kube: client.ApiClient, ns: str, name: str) -> bool:
    try:
        get_ba(kube, ns, name)
    except client.ApiException as exc:
        return exc.status == 404
    return False


def delete(kube: client.ApiClient, ns: str, name: str) -> None:
    client.CustomObjectsApi(kube).delete_namespaced_custom_object(GROUP, VERSION, ns, "bucketaccesses", name)


def writes_in_log(operator: OperatorProcess, what: str, bucket: str) -> int:
    return sum(
        1
        for line in operator.log.read_text().splitlines()
        if f"{what} bucket={bucket} " in line or f"{what} key={bucket} " in line
    )


def test_bucket_policy_grant_makes_an_identity_without_putobject_ready(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("no-put"), unique("grant")
    org_world.seed({"roles": [{"name": role, "inline": {"read": NO_PUT}}], "buckets": [{"name": bucket}]})
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    create(kube, ba("grant", bucket, arn))
    obj = ready(kube, "grant", "True")
    reconciled = condition(obj, "Reconciled")
    assert reconciled is not None and (reconciled["status"], reconciled["reason"]) == (
        "True",
        "GrantsInPlace",
    )
    sid = obj["status"]["managed"]["bucketPolicySid"]
    stmt = next(s for s in statements(policy(org_world, bucket)) if s.get("Sid") == sid)
    assert (
        stmt["Effect"] == "Allow"
        and stmt["Principal"] == {"AWS": arn}
        and stmt["Resource"] == f"arn:aws:s3:::{bucket}/uploads/*"
    )
    identity = condition(obj, "IdentityPolicyAllows")
    assert identity is not None and identity["reason"] == "GrantedByResourcePolicy"
    events = wait_for(
        lambda: [
            e
            for e in client.CoreV1Api(kube)
            .list_namespaced_event(NS, field_selector="involvedObject.name=grant")
            .items
            if e.reason == "GrantedBucketAccess"
        ],
        30,
        "GrantedBucketAccess event",
    )
    assert bucket in events[0].message

    delete(kube, NS, "grant")
    wait_for(lambda: gone(kube, NS, "grant"), 30, "deletion")
    assert policy(org_world, bucket) is None  # the policy held only our statement


@pytest.mark.parametrize("mode", ["KeyPolicy", "Grant"])
def test_kms_key_user_in_both_modes(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld, mode: str
) -> None:
    role, bucket = unique("kms-user"), unique("kms")
    admin = dict(ROOT_ADMIN, Principal={"AWS": f"arn:aws:iam::{org_world.workloads}:root"})
    put = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    seeded = org_world.seed(
        {
            "roles": [{"name": role, "inline": {"put": put}}],
            "keys": [{"ref": "k", "policy": doc(admin)}],
            # Grant mode limits the grant to the bucket's encryption context: needs the Bucket Key
            "buckets": [
                {
                    "name": bucket,
                    "encryption": {"algorithm": "aws:kms", "key": "k", "bucketKeyEnabled": mode == "Grant"},
                }
            ],
        }
    )
    key = seeded.keys["k"]
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    name = f"kms-{mode.lower()}"
    create(kube, ba(name, bucket, arn, cls="manage" if mode == "KeyPolicy" else "manage-grants"))
    obj = ready(kube, name, "True")
    kms = condition(obj, "KMSKeyUsable")
    assert kms is not None and kms["status"] == "True"
    key_policy = str(org_world.client("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert foreign(key_policy) == [json.dumps(admin)]
    if mode == "KeyPolicy":
        assert managed_principals(key_policy) == {arn}
        assert obj["status"]["managed"]["keyPolicySid"]
    else:
        grants = org_world.client("kms").list_grants(KeyId=key)["Grants"]
        assert [g["GranteePrincipal"] for g in grants] == [arn]
        assert grants[0]["Constraints"] == {
            "EncryptionContextSubset": {"aws:s3:arn": f"arn:aws:s3:::{bucket}"}
        }
        assert obj["status"]["managed"]["grantIds"] == [grants[0]["GrantId"]]
    delete(kube, NS, name)
    wait_for(lambda: gone(kube, NS, name), 30, "deletion")
    after = str(org_world.client("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert managed_principals(after) == set() and foreign(after) == [json.dumps(admin)]
    assert org_world.client("kms").list_grants(KeyId=key)["Grants"] == []


def test_fifty_objects_on_one_bucket_with_foreign_statements(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = unique("fifty")
    roles = [unique("fifty-role") for _ in range(50)]
    arns = [f"arn:aws:iam::{org_world.workloads}:role/{r}" for r in roles]
    original = json.dumps(
        doc(
            {
                "Sid": "ExampleStmt",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{bucket}/locked/*",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:role/auditor"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/logs/*",
            },
        )
    )
    org_world.seed(
        {"roles": [{"name": r, "inline": {"read": NO_PUT}} for r in roles], "buckets": [{"name": bucket}]}
    )
    org_world.client("s3").put_bucket_policy(Bucket=bucket, Policy=original)
    names = [f"fifty-{i:02d}" for i in range(50)]
    started = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda i: create(kube, ba(names[i], bucket, arns[i])), range(50)))
    for name in names:
        ready(kube, name, "True", timeout=120)
    converged = time.monotonic() - started
    text = policy(org_world, bucket)
    assert managed_principals(text) == set(arns)
    assert foreign(text) == foreign(original)
    puts = writes_in_log(operator, "PutBucketPolicy", bucket)
    with capsys.disabled():
        print(f"\n50 objects on one bucket: converged in {converged:.1f}s with {puts} PutBucketPolicy calls")
    assert puts < 50

    for name in names[:25]:
        delete(kube, NS, name)
    wait_for(lambda: all(gone(kube, NS, n) for n in names[:25]), 90, "25 deletions")
    text = policy(org_world, bucket)
    assert managed_principals(text) == set(arns[25:])
    assert foreign(text) == foreign(original)

    for name in names[25:]:
        delete(kube, NS, name)
    wait_for(lambda: all(gone(kube, NS, n) for n in names[25:]), 90, "all deletions")
    assert statements(policy(org_world, bucket)) == statements(original)


def test_explicit_deny_and_scp_stay_untouched_and_reported(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("denied"), unique("denied")
    deny = {
        "Sid": "ExampleStmt",
        "Action": ["s3:PutObject"],
        "Effect": "Deny",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Principal": "*",
        "Condition": {
            "StringNotLikeIfExists": {
                "s3:x-amz-server-side-encryption-aws-kms-key-id": f"arn:aws:kms:us-east-1:{org_world.workloads}:key/*"
            }
        },
    }
    org_world.seed(
        {
            "roles": [{"name": role, "inline": {"read": NO_PUT}}],
            "buckets": [{"name": bucket, "policy": doc(deny)}],
        }
    )
    create(kube, ba("deny", bucket, f"arn:aws:iam::{org_world.workloads}:role/{role}"))
    obj = wait_for(
        lambda: (o := get_ba(kube, NS, "deny")).get("status", {}).get("managed") and o, 60, "the grant"
    )
    obj = ready(kube, "deny", "False")
    assert condition(obj, "Ready")["reason"] == "ExplicitDenyInBucketPolicy"  # type: ignore[index]
    assert foreign(policy(org_world, bucket)) == [json.dumps(deny)]

    restricted_role, scp_bucket = unique("scp"), unique("scp")
    put = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    org_world.seed(
        {"roles": [{"name": restricted_role, "inline": {"put": put}}]}, account=org_world.restricted
    )
    org_world.seed({"buckets": [{"name": scp_bucket}]})
    orgs = org_world.seeder.client("organizations", MANAGEMENT)
    scp = next(
        p for p in orgs.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] if p["Name"] == "DenyS3"
    )
    before = orgs.describe_policy(PolicyId=scp["Id"])["Policy"]["Content"]
    create(kube, ba("scp", scp_bucket, f"arn:aws:iam::{org_world.restricted}:role/{restricted_role}"))
    obj = ready(kube, "scp", "False")
    assert condition(obj, "Ready")["reason"] == "ExplicitDenyInSCP"  # type: ignore[index]
    assert orgs.describe_policy(PolicyId=scp["Id"])["Policy"]["Content"] == before
    assert [t["TargetId"] for t in orgs.list_targets_for_policy(PolicyId=scp["Id"])["Targets"]] == [
        org_world.org["ous"]["restricted"]
    ]


def _aws_state(org_world: OrgWorld, bucket: str, key: str) -> tuple[Any, ...]:
    kms = org_world.client("kms")
    return (
        policy(org_world, bucket),
        kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"],
        kms.list_grants(KeyId=key)["Grants"],
    )


def _verified_twice(kube: client.ApiClient, ns: str, name: str) -> None:
    seen: list[str] = []

    def probe() -> bool:
        stamp = (get_ba(kube, ns, name).get("status") or {}).get("lastVerifiedTime")
        if stamp and stamp not in seen:
            seen.append(stamp)
        return len(seen) >= 3  # the first verdict and two interval runs after it

    wait_for(probe, 60, f"{ns}/{name} verified twice more")


def test_observe_class_and_unadmitted_namespace_write_nothing(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("observed"), unique("observed")
    admin = dict(ROOT_ADMIN, Principal={"AWS": f"arn:aws:iam::{org_world.workloads}:root"})
    seeded = org_world.seed(
        {
            "roles": [{"name": role, "inline": {"read": NO_PUT}}],
            "keys": [{"ref": "k", "policy": doc(admin)}],
            "buckets": [
                {
                    "name": bucket,
                    "encryption": {"algorithm": "aws:kms", "key": "k"},
                    "policy": doc(
                        {
                            "Sid": "Existing",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:role/x"},
                            "Action": "s3:GetObject",
                            "Resource": f"arn:aws:s3:::{bucket}/*",
                        }
                    ),
                }
            ],
        }
    )
    before = _aws_state(org_world, bucket, seeded.keys["k"])
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    create(kube, ba("observed", bucket, arn, cls="observe"))
    create(kube, ba("tenant", bucket, arn, cls="manage", ns=TENANT))
    _verified_twice(kube, NS, "observed")
    judged_again(kube, TENANT, "tenant")
    assert _aws_state(org_world, bucket, seeded.keys["k"]) == before
    obs = get_ba(kube, NS, "observed")
    assert condition(obs, "Reconciled")["reason"] == "ObserveOnly"  # type: ignore[index]
    assert condition(obs, "Ready")["status"] == "False"  # type: ignore[index]
    tenant = get_ba(kube, TENANT, "tenant")
    assert condition(tenant, "Admitted")["reason"] == "NamespaceNotAdmitted"  # type: ignore[index]
    assert condition(tenant, "Reconciled")["reason"] == "NotAdmitted"  # type: ignore[index]


def test_policy_near_the_size_limit_is_not_written(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("big"), unique("big")
    org_world.seed({"roles": [{"name": role, "inline": {"read": NO_PUT}}], "buckets": [{"name": bucket}]})
    pad = {
        "Sid": "Pad",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:role/x"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/",
    }
    pad["Resource"] += "p" * (20 * 1024 - 40 - len(json.dumps(doc(pad), separators=(",", ":"))))
    original = json.dumps(doc(pad), separators=(",", ":"))
    org_world.client("s3").put_bucket_policy(Bucket=bucket, Policy=original)
    create(kube, ba("big", bucket, f"arn:aws:iam::{org_world.workloads}:role/{role}"))
    obj = wait_for(
        lambda: (
            (o := get_ba(kube, NS, "big"))
            and (c := condition(o, "Reconciled"))
            and c["status"] == "False"
            and o
        ),
        60,
        "Reconciled=False",
    )
    reconciled = condition(obj, "Reconciled")
    assert reconciled is not None and reconciled["reason"] == "PolicySizeLimit"
    assert policy(org_world, bucket) == original


def test_deleting_after_the_bucket_was_deleted_completes(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    role, bucket = unique("orphan"), unique("orphan")
    org_world.seed({"roles": [{"name": role, "inline": {"read": NO_PUT}}], "buckets": [{"name": bucket}]})
    create(kube, ba("orphan", bucket, f"arn:aws:iam::{org_world.workloads}:role/{role}"))
    obj = ready(kube, "orphan", "True")
    assert obj["status"]["managed"]["bucketPolicySid"]
    s3 = org_world.client("s3")
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)
    delete(kube, NS, "orphan")
    wait_for(lambda: gone(kube, NS, "orphan"), 30, "deletion with the bucket gone")


def test_a_tagged_upload_is_denied_without_putobjecttagging_and_repaired_in_manage_mode(
    kube: client.ApiClient, operator: OperatorProcess, org_world: OrgWorld
) -> None:
    """The workload sends tags: its PUT also needs s3:PutObjectTagging, which its role lacks. A class
    that observes reports it on the identity layer; one that manages, and admits the action, grants it."""
    role, bucket = unique("tagged"), unique("tagged")
    put_only = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    org_world.seed({"roles": [{"name": role, "inline": {"put": put_only}}], "buckets": [{"name": bucket}]})
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    tagging = access_class(
        "manage-tags",
        namespace_labels={"team": "reconcile"},
        bucket_policy="Observe",
        actions=["s3:PutObject", "s3:PutObjectTagging"],
    )
    create(kube, tagging)
    create(
        kube, ba("tagged", bucket, arn, cls="manage-tags", upload={"tags": {"classification": "internal"}})
    )
    obj = ready(kube, "tagged", "False")
    identity = condition(obj, "IdentityPolicyAllows")
    assert (
        identity is not None
        and identity["status"] == "False"
        and "s3:PutObjectTagging" in identity["message"]
    )
    assert policy(org_world, bucket) is None  # Observe: nothing written

    tagging["spec"]["reconcile"] = {"bucketPolicy": "Manage"}
    current = client.CustomObjectsApi(kube).get_cluster_custom_object(
        GROUP, VERSION, "bucketaccessclasses", "manage-tags"
    )
    tagging["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    client.CustomObjectsApi(kube).replace_cluster_custom_object(
        GROUP, VERSION, "bucketaccessclasses", "manage-tags", tagging
    )
    ready(kube, "tagged", "True")
    granted = [s for s in statements(policy(org_world, bucket)) if BUCKET_SID.match(str(s.get("Sid", "")))]
    actions = {a for s in granted for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"s3:PutObject", "s3:PutObjectTagging"}
