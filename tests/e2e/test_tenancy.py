"""A hostile tenant against the class boundary: a ServiceAccount token that may create, update and
delete BucketAccess objects in its own namespace and nothing else, on the real API server, with
the operator managing bucket policies and key policies. AWS state is compared byte for byte.

Covered here: any object action, public ACLs, any KMS key, role ARN path tricks, policy language
in the prefix, orphaned grants (a finalizer removed by the tenant, skip-cleanup), a flood of
"verify now" requests against the operator's AWS quotas, and the controls that must keep working.
Fair shares of a shared policy are unit-tested in tests/unit/reconcile.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from devenv.controlplane import ControlPlane, free_port
from devenv.org_world import OrgWorld, doc, unique
from tests.collisions import colliding_prefixes
from tests.e2e.kube import (
    GROUP,
    VERSION,
    api_client,
    condition,
    create,
    ensure_namespace,
    get_ba,
    judged_again,
    token_for,
    wait_for,
    wait_ready,
)
from tests.e2e.operator_proc import OperatorProcess
from tests.manifests import access_class, bucket_access

pytestmark = pytest.mark.e2e
NS, OTHER, STATE = "tenancy", "tenancy-other", "tenancy-state"
CLASS = "tenancy"
NO_PUT = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})


@pytest.fixture(scope="module")
def operator(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    ensure_namespace(kube, NS, {"team": "tenancy"})
    ensure_namespace(kube, OTHER, {"team": "other"})
    ensure_namespace(kube, STATE)
    create(
        kube,
        tenant_class(CLASS, org_world, kms_key_users="KeyPolicy"),
    )
    extra = ("--record-name", "bucketaccess-managed")
    yield from operator_over(control_plane, org_world, tmp_path_factory, (NS, OTHER), STATE, *extra)


def operator_over(
    control_plane: ControlPlane,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
    namespaces: tuple[str, ...],
    state: str,
    *extra: str,
) -> Iterator[OperatorProcess]:
    """The operator as its own process, watching ``namespaces`` and keeping its record in ``state``."""
    args = [*(a for ns in namespaces for a in ("--namespace", ns)), "--state-namespace", state]
    log = tmp_path_factory.mktemp(f"{state}-operator") / "operator.log"
    args += [*org_world.operator_args(), *extra]
    with OperatorProcess(control_plane.kubeconfig, log, args, env=org_world.operator_env()) as proc:
        yield proc


@pytest.fixture(scope="module")
def tenant(
    control_plane: ControlPlane, kube: client.ApiClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[client.CustomObjectsApi]:
    """The tenant's own token: bucketaccesses in its namespace, and nothing else."""
    yield from tenant_objects(
        control_plane, kube, NS, tmp_path_factory.mktemp("tenant") / "tenant.kubeconfig"
    )


def tenant_objects(
    control_plane: ControlPlane, kube: client.ApiClient, ns: str, path: Path
) -> Iterator[client.CustomObjectsApi]:
    """A client with a ServiceAccount token of ``ns`` that may use bucketaccesses there, and nothing else."""
    ensure_namespace(kube, ns, {"team": "tenancy"})
    client.CoreV1Api(kube).create_namespaced_service_account(ns, {"metadata": {"name": "tenant"}})
    rbac = client.RbacAuthorizationV1Api(kube)
    rbac.create_namespaced_role(
        ns,
        {
            "metadata": {"name": "tenant"},
            "rules": [
                {
                    "apiGroups": [GROUP],
                    "resources": ["bucketaccesses"],
                    "verbs": ["create", "update", "patch", "delete", "get", "list", "watch"],
                }
            ],
        },
    )
    rbac.create_namespaced_role_binding(
        ns,
        {
            "metadata": {"name": "tenant"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant"},
            "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": ns}],
        },
    )
    api = api_client(control_plane.kubeconfig_for_token(token_for(kube, ns, "tenant"), path))
    yield client.CustomObjectsApi(api)
    api.close()


@pytest.fixture
def victim(org_world: OrgWorld) -> dict[str, str]:
    """A bucket with a foreign statement, the platform's own KMS key, and the tenant's role."""
    bucket, role, key_ref = unique("tenancy"), unique("tenant"), unique("secrets")
    seeded = org_world.seed(
        {
            "roles": [{"name": role, "inline": {"read": NO_PUT}}],
            "keys": [{"ref": key_ref}],
            "buckets": [{"name": bucket}],
        }
    )
    policy = json.dumps(
        doc(
            {
                "Sid": "Owner",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:root"},
                "Action": "s3:*",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        )
    )
    org_world.client("s3").put_bucket_policy(Bucket=bucket, Policy=policy)
    key = seeded.keys[key_ref]
    return {
        "bucket": bucket,
        "role": f"arn:aws:iam::{org_world.workloads}:role/{role}",
        "key": key,
        "policy": policy,
        "key_policy": key_policy(org_world, key),
    }


def foreign_first_statement_kept(org_world: OrgWorld, victim: dict[str, str]) -> bool:
    """The victim bucket's foreign statement is still there, byte for byte, first."""
    statements = json.loads(bucket_policy(org_world, victim["bucket"]))["Statement"]
    return json.dumps(statements[0]) == json.dumps(json.loads(victim["policy"])["Statement"][0])


def bucket_policy(org_world: OrgWorld, bucket: str) -> str:
    return str(org_world.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])


def key_policy(org_world: OrgWorld, key: str) -> str:
    return str(org_world.client("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])


def tenant_class(
    name: str, org_world: OrgWorld, labels: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    """A class of the suite: tenancy-* buckets, the tenant-* roles of the workloads account, Manage."""
    return access_class(
        name,
        namespace_labels={"team": "tenancy"} if labels is None else labels,
        buckets=("tenancy-*",),
        roles=(f"arn:aws:iam::{org_world.workloads}:role/tenant-*",),
        bucket_policy="Manage",
        **spec,
    )


def submit(
    tenant: client.CustomObjectsApi,
    name: str,
    bucket: str,
    role: str,
    cls: str = CLASS,
    prefix: str = "in/",
    **spec: Any,
) -> None:
    """The tenant creates a BucketAccess in its own namespace, with its own token."""
    tenant.create_namespaced_custom_object(
        GROUP,
        VERSION,
        NS,
        "bucketaccesses",
        bucket_access(name, NS, cls=cls, bucket=bucket, prefix=prefix, role=role, **spec),
    )


def verified_twice(kube: client.ApiClient, name: str) -> dict[str, Any]:
    """The object after two verdicts: the second pass would have written anything the first planned."""
    wait_for(lambda: o if condition(o := get_ba(kube, NS, name), "Admitted") else None, 60, f"{name} judged")
    return judged_again(kube, NS, name)


@pytest.mark.parametrize(
    ("spec", "role_of", "reason"),
    [
        pytest.param(
            {"actions": ["s3:DeleteObject"]}, None, ("Admitted", "ActionNotAdmitted"), id="any-object-action"
        ),
        pytest.param(
            {"actions": ["s3:PutObjectRetention", "s3:BypassGovernanceRetention"]},
            None,
            ("Admitted", "ActionNotAdmitted"),
            id="retention-bypass",
        ),
        pytest.param(
            {"upload": {"acl": "public-read"}}, None, ("Admitted", "ACLNotAdmitted"), id="public-objects"
        ),
        pytest.param("kms", None, ("Admitted", "KMSKeyNotAdmitted"), id="any-kms-key"),
        pytest.param({}, "path-trick", ("IdentityPolicyAllows", "RoleNotFound"), id="role-arn-path-trick"),
    ],
)
def test_a_hostile_request_writes_nothing_to_aws(
    kube: client.ApiClient,
    operator: OperatorProcess,
    tenant: client.CustomObjectsApi,
    org_world: OrgWorld,
    victim: dict[str, str],
    spec: Any,
    role_of: str | None,
    reason: tuple[str, str],
) -> None:
    if spec == "kms":
        spec = {"upload": {"encryption": {"algorithm": "aws:kms", "kmsKeyArn": victim["key"]}}}
    role = victim["role"]
    if role_of == "path-trick":
        # matches the class's role/tenant-* glob; IAM would read the role by its last segment
        role = f"arn:aws:iam::{org_world.workloads}:role/tenant-path/{role.rsplit('/', 1)[-1]}"
    name = unique("hostile")
    submit(tenant, name, victim["bucket"], role, **spec)
    obj = verified_twice(kube, name)
    found = condition(obj, reason[0])
    assert found is not None and (found["status"], found["reason"]) == ("False", reason[1]), found
    assert bucket_policy(org_world, victim["bucket"]) == victim["policy"]
    assert key_policy(org_world, victim["key"]) == victim["key_policy"]


def test_policy_language_in_a_prefix_is_refused_by_the_api_server(
    operator: OperatorProcess, tenant: client.CustomObjectsApi, victim: dict[str, str]
) -> None:
    with pytest.raises(ApiException) as info:
        tenant.create_namespaced_custom_object(
            GROUP,
            VERSION,
            NS,
            "bucketaccesses",
            bucket_access(
                unique("var"),
                NS,
                cls=CLASS,
                bucket=victim["bucket"],
                prefix="uploads/${aws:username}/",
                role=victim["role"],
            ),
        )
    assert (
        info.value.status == 422 and "spec.prefix" in info.value.body and "${aws:username}" in info.value.body
    )


def test_the_boundary_holds_for_namespaces_and_status(
    operator: OperatorProcess, tenant: client.CustomObjectsApi, victim: dict[str, str]
) -> None:
    with pytest.raises(ApiException) as elsewhere:
        tenant.create_namespaced_custom_object(
            GROUP,
            VERSION,
            OTHER,
            "bucketaccesses",
            bucket_access("x", OTHER, cls=CLASS, bucket=victim["bucket"], role=victim["role"]),
        )
    assert elsewhere.value.status == 403
    name = unique("status")
    submit(tenant, name, victim["bucket"], victim["role"])
    with pytest.raises(ApiException) as forged:
        tenant.patch_namespaced_custom_object_status(
            GROUP, VERSION, NS, "bucketaccesses", name, {"status": {"conditions": []}}
        )
    assert forged.value.status == 403


def test_an_admitted_request_is_granted_exactly_and_foreign_statements_stay(
    kube: client.ApiClient,
    operator: OperatorProcess,
    tenant: client.CustomObjectsApi,
    org_world: OrgWorld,
    victim: dict[str, str],
) -> None:
    name = unique("legit")
    submit(tenant, name, victim["bucket"], victim["role"], upload={"acl": "bucket-owner-full-control"})
    wait_for(
        lambda: (c := condition(get_ba(kube, NS, name), "Ready")) is not None and c["status"] == "True",
        60,
        "the admitted request Ready",
    )
    assert foreign_first_statement_kept(org_world, victim)
    statements = json.loads(bucket_policy(org_world, victim["bucket"]))["Statement"]
    ours = {s["Action"]: s for s in statements[1:]}
    assert set(ours) == {"s3:PutObject", "s3:PutObjectAcl"}
    assert ours["s3:PutObjectAcl"]["Condition"] == {
        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}
    }
    assert all(s["Principal"] == {"AWS": victim["role"]} and s["Effect"] == "Allow" for s in ours.values())
    assert key_policy(org_world, victim["key"]) == victim["key_policy"]  # no key named, none touched


def managed_principals(org_world: OrgWorld, bucket: str) -> set[str]:
    found = set()
    for s in json.loads(bucket_policy(org_world, bucket))["Statement"]:
        if str(s.get("Sid", "")).startswith("BucketAccess"):
            aws = s["Principal"]["AWS"]
            found |= {aws} if isinstance(aws, str) else set(aws)
    return found


@pytest.mark.parametrize("how", ["finalizer-removed", "skip-cleanup"])
def test_an_object_gone_without_its_cleanup_leaves_no_grant_behind(
    kube: client.ApiClient,
    operator: OperatorProcess,
    tenant: client.CustomObjectsApi,
    org_world: OrgWorld,
    victim: dict[str, str],
    how: str,
) -> None:
    name = unique("orphan")
    submit(tenant, name, victim["bucket"], victim["role"])
    wait_for(
        lambda: victim["role"] in managed_principals(org_world, victim["bucket"]), 60, "the grant in place"
    )
    # the durable record names the bucket, in the cluster
    record = client.CoreV1Api(kube).read_namespaced_config_map("bucketaccess-managed", STATE)
    assert victim["bucket"] in (record.data or {}).get("buckets", "").split()
    if how == "finalizer-removed":  # the tenant may patch its own object
        tenant.patch_namespaced_custom_object(
            GROUP, VERSION, NS, "bucketaccesses", name, {"metadata": {"finalizers": []}}
        )
    else:  # the administrators' annotation, set on the tenant's object
        client.CustomObjectsApi(kube).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            NS,
            "bucketaccesses",
            name,
            {"metadata": {"annotations": {"s3access.dev/skip-cleanup": "true"}}},
        )
    tenant.delete_namespaced_custom_object(GROUP, VERSION, NS, "bucketaccesses", name)
    wait_for(
        lambda: victim["role"] not in managed_principals(org_world, victim["bucket"]),
        60,
        "the orphaned grant removed by the sweep",
    )
    assert foreign_first_statement_kept(org_world, victim)


def test_one_namespace_cannot_take_more_than_its_share_of_a_shared_bucket(
    kube: client.ApiClient,
    operator: OperatorProcess,
    tenant: client.CustomObjectsApi,
    org_world: OrgWorld,
    victim: dict[str, str],
) -> None:
    create(
        kube,
        tenant_class("tenancy-capped", org_world, limits={"objectsPerNamespacePerBucket": 1}),
    )
    second_role = unique("tenant")
    org_world.seed({"roles": [{"name": second_role, "inline": {"read": NO_PUT}}]})
    second_arn = f"arn:aws:iam::{org_world.workloads}:role/{second_role}"
    first, second = unique("share"), unique("share")
    submit(tenant, first, victim["bucket"], victim["role"], cls="tenancy-capped", prefix="a/")
    wait_for(lambda: victim["role"] in managed_principals(org_world, victim["bucket"]), 60, "the first grant")
    submit(tenant, second, victim["bucket"], second_arn, cls="tenancy-capped", prefix="b/")
    obj = verified_twice(kube, second)
    admitted = condition(obj, "Admitted")
    assert admitted is not None and (admitted["status"], admitted["reason"]) == (
        "False",
        "NamespaceShareExceeded",
    )
    assert managed_principals(org_world, victim["bucket"]) == {victim["role"]}
    assert foreign_first_statement_kept(org_world, victim)


# --- issue: the second attack on the class ------------------------------------------------------

SECRETS = ("OtherTeamDenyUnlessEndpoint", "vpce-0a1b2c3d4e5f6a7b8", "other-team-upload")
LAYERS = (
    "RoleAssumable",
    "IdentityPolicyAllows",
    "KMSKeyUsable",
    "BucketPolicyAllows",
    "BucketACLAllows",
    "SCPAllows",
    "RCPAllows",
    "PermissionsBoundaryAllows",
    "PublicAccessBlockAllows",
)


def other_team(org_world: OrgWorld) -> dict[str, str]:
    """Another team's bucket (not in the tenant's class), its KMS key, its role and their secrets."""
    bucket, role, key_ref = unique("otherteam"), unique("othersvc"), unique("otherkey")
    seeded = org_world.seed(
        {
            "roles": [{"name": role, "inline": {"other-team-upload": NO_PUT}}],
            "keys": [{"ref": key_ref}],
            "buckets": [{"name": bucket, "encryption": {"algorithm": "aws:kms", "key": key_ref}}],
        }
    )
    deny = {
        "Sid": SECRETS[0],
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": SECRETS[1]}},
    }
    org_world.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc(deny)))
    return {
        "bucket": bucket,
        "role": f"arn:aws:iam::{org_world.workloads}:role/{role}",
        "key": seeded.keys[key_ref],
    }


def events_of(kube: client.ApiClient, name: str) -> list[str]:
    items = (
        client.CoreV1Api(kube).list_namespaced_event(NS, field_selector=f"involvedObject.name={name}").items
    )
    return [f"{e.reason}: {e.message}" for e in items]


def seen(obj: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in obj["status"]["conditions"]]


@pytest.mark.parametrize("how", ["bucket-not-in-the-class", "class-does-not-exist"])
def test_a_request_not_admitted_learns_nothing_of_another_teams_aws(
    kube: client.ApiClient,
    operator: OperatorProcess,
    tenant: client.CustomObjectsApi,
    org_world: OrgWorld,
    how: str,
) -> None:
    other = other_team(org_world)
    name, cls = unique("pry"), CLASS if how == "bucket-not-in-the-class" else "no-such-class"
    submit(
        tenant,
        name,
        other["bucket"],
        other["role"],
        cls=cls,
        upload={"encryption": {"algorithm": "aws:kms", "kmsKeyArn": other["key"]}},
    )
    reason = "BucketNotAdmitted" if cls == CLASS else "ClassNotFound"
    read = lambda: tenant.get_namespaced_custom_object(GROUP, VERSION, NS, "bucketaccesses", name)  # noqa: E731
    obj = wait_for(lambda: o if condition(o := read(), "Admitted") else None, 60, "the verdict on admission")
    admitted = (
        f"BucketAccessClass {CLASS} does not admit bucket {other['bucket']}"
        if cls == CLASS
        else f"BucketAccessClass {cls} does not exist; nothing will be written to AWS"
    )
    not_evaluated = (
        f"not evaluated: the request is not admitted ({reason}), and the operator reads nothing in AWS "
        "for a request its class does not admit"
    )
    # byte for byte: everything the tenant can read is its own input and the rule that refused it
    assert seen(obj) == [
        ("Ready", "False", reason, f"not admitted: {admitted}; its layers in AWS were not evaluated"),
        ("Admitted", "False", reason, admitted),
        *((layer, "Unknown", "NotAdmitted", not_evaluated) for layer in LAYERS),
        (
            "Reconciled",
            "False",
            "NotAdmitted",
            f"nothing is written for a request its class does not admit ({reason})",
        ),
    ]
    text = json.dumps(obj) + "".join(events_of(kube, name))
    assert not [s for s in SECRETS if s in text]


def test_prefixes_whose_sids_once_collided_each_keep_their_own_grant(
    kube: client.ApiClient,
    operator: OperatorProcess,
    tenant: client.CustomObjectsApi,
    org_world: OrgWorld,
    victim: dict[str, str],
) -> None:
    # another team, in another namespace, on the same shared bucket
    create(
        kube,
        tenant_class("tenancy-other", org_world, labels={"team": "other"}),
    )
    theirs = unique("tenant")
    org_world.seed({"roles": [{"name": theirs, "inline": {"read": NO_PUT}}]})
    their_role = f"arn:aws:iam::{org_world.workloads}:role/{theirs}"
    p1, p2 = colliding_prefixes()
    create(
        kube,
        bucket_access(
            "first", OTHER, cls="tenancy-other", bucket=victim["bucket"], prefix=p1, role=their_role
        ),
    )
    wait_ready(kube, OTHER, "first", "True")
    # the tenant's prefix, chosen so that the first planner gave its statement the same Sid
    name = unique("collide")
    submit(tenant, name, victim["bucket"], victim["role"], prefix=p2)
    wait_ready(kube, NS, name, "True")
    verified_twice(kube, name)
    granted = {
        (r.removeprefix(f"arn:aws:s3:::{victim['bucket']}/"), role)
        for s in json.loads(bucket_policy(org_world, victim["bucket"]))["Statement"][1:]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        for role in (
            [s["Principal"]["AWS"]] if isinstance(s["Principal"]["AWS"], str) else s["Principal"]["AWS"]
        )
    }
    assert granted == {(p1 + "*", their_role), (p2 + "*", victim["role"])}
    assert condition(get_ba(kube, OTHER, "first"), "Ready")["status"] == "True"  # type: ignore[index]
    assert foreign_first_statement_kept(org_world, victim)
    # and a newline (or any control character) in a prefix never reaches the operator
    with pytest.raises(ApiException) as info:
        submit(tenant, unique("nl"), victim["bucket"], victim["role"], prefix="in/\ns3:GetObject")
    assert (
        info.value.status == 422
        and "spec.prefix" in info.value.body
        and "control characters" in info.value.body
    )


def test_one_namespace_cannot_starve_another_of_a_shared_bucket_policy(
    kube: client.ApiClient,
    operator: OperatorProcess,
    tenant: client.CustomObjectsApi,
    org_world: OrgWorld,
    victim: dict[str, str],
) -> None:
    create(
        kube,
        tenant_class("tenancy-bytes", org_world, labels={}),
    )
    theirs = unique("tenant")
    org_world.seed({"roles": [{"name": theirs, "inline": {"read": NO_PUT}}]})
    their_role = f"arn:aws:iam::{org_world.workloads}:role/{theirs}"
    create(
        kube,
        bucket_access(
            "early", OTHER, cls="tenancy-bytes", bucket=victim["bucket"], prefix="x/", role=their_role
        ),
    )
    wait_ready(kube, OTHER, "early", "True")
    names = [unique("hog") for _ in range(20)]
    for i, name in enumerate(names):  # twenty 1,000-character prefixes, each its own role's
        submit(
            tenant,
            name,
            victim["bucket"],
            victim["role"],
            cls="tenancy-bytes",
            prefix=f"{i:02d}/" + "p" * 996 + "/",
        )

    def verdicts() -> dict[str, str] | None:
        found = {n: condition(get_ba(kube, NS, n), "Admitted") for n in names}
        return {n: c["reason"] for n, c in found.items() if c} if all(found.values()) else None

    reasons = wait_for(verdicts, 120, "a verdict on each of the twenty")
    refused = [n for n, r in reasons.items() if r == "PolicyShareExceeded"]
    assert refused and set(reasons.values()) == {"AdmittedByClass", "PolicyShareExceeded"}
    policy = bucket_policy(org_world, victim["bucket"])
    assert len(policy.encode()) <= 20 * 1024
    message = condition(get_ba(kube, NS, refused[0]), "Admitted")["message"]  # type: ignore[index]
    assert "fair share" in message and "divided among 2 namespace(s)" in message
    # the other team's next grant still fits
    create(
        kube,
        bucket_access(
            "late", OTHER, cls="tenancy-bytes", bucket=victim["bucket"], prefix="y/", role=their_role
        ),
    )
    wait_ready(kube, OTHER, "late", "True")
    assert their_role in managed_principals(org_world, victim["bucket"])
    assert foreign_first_statement_kept(org_world, victim)


def test_a_burst_past_the_object_share_never_holds_more_than_the_share(
    kube: client.ApiClient,
    operator: OperatorProcess,
    tenant: client.CustomObjectsApi,
    org_world: OrgWorld,
    victim: dict[str, str],
) -> None:
    create(
        kube,
        tenant_class("tenancy-burst", org_world, limits={"objectsPerNamespacePerBucket": 3}),
    )
    names = [unique("burst") for _ in range(8)]
    for i, name in enumerate(names):  # eight at once
        submit(tenant, name, victim["bucket"], victim["role"], cls="tenancy-burst", prefix=f"burst{i}/")
    most = 0

    def settled() -> dict[str, str] | None:
        nonlocal most
        ours = [s for s in json.loads(bucket_policy(org_world, victim["bucket"]))["Statement"][1:]]
        held = {
            r for s in ours for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        }
        most = max(most, len(held))
        found = {n: condition(get_ba(kube, NS, n), "Admitted") for n in names}
        return {n: c["reason"] for n, c in found.items() if c} if all(found.values()) else None

    reasons = wait_for(settled, 120, "a verdict on each of the eight")
    kept = sorted(n for n, r in reasons.items() if r == "AdmittedByClass")
    assert len(kept) == 3 and sorted(reasons.values()).count("NamespaceShareExceeded") == 5
    for n in kept:
        wait_ready(kube, NS, n, "True")
    # every grant the operator wrote, as its Events tell: one per kept object, none for the rest
    # (one pass may write a peer's grant with its own, so not every kept object has an Event)
    granted = {n for n in names if any(e.startswith("GrantedBucketAccess") for e in events_of(kube, n))}
    assert granted and granted <= set(kept)
    ours = json.loads(bucket_policy(org_world, victim["bucket"]))["Statement"][1:]
    held = {r for s in ours for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    prefixes = {n: get_ba(kube, NS, n)["spec"]["prefix"] for n in names}
    assert held == {f"arn:aws:s3:::{victim['bucket']}/{prefixes[n]}*" for n in kept}
    assert most <= 3
    print(
        f"\nburst of 8 with a share of 3: at most {most} prefixes granted at once (sampled), Granted Events on {len(granted)} object(s)"
    )
    refused = [n for n in names if n not in kept]
    assert all(
        "s3access.dev/cleanup" not in (get_ba(kube, NS, n)["metadata"].get("finalizers") or [])
        for n in refused
    )


@pytest.mark.parametrize(("acls", "outcome"), [(None, "conditioned"), ([], "refused")])
def test_an_acl_setting_action_admitted_by_a_glob_is_granted_only_under_the_acl_condition(
    kube: client.ApiClient,
    operator: OperatorProcess,
    tenant: client.CustomObjectsApi,
    org_world: OrgWorld,
    victim: dict[str, str],
    acls: list[str] | None,
    outcome: str,
) -> None:
    cls = unique("tenancy-aclglob")
    extra = {} if acls is None else {"acls": acls}
    create(
        kube,
        tenant_class(cls, org_world, actions=["s3:PutObject*"], **extra),
    )
    name = unique("versionacl")
    submit(tenant, name, victim["bucket"], victim["role"], cls=cls, actions=["s3:PutObjectVersionAcl"])
    obj = (
        verified_twice(kube, name)
        if outcome == "conditioned"
        else wait_for(
            lambda: o if condition(o := get_ba(kube, NS, name), "Admitted") else None, 60, "the verdict"
        )
    )
    if outcome == "refused":
        assert (condition(obj, "Admitted") or {}).get("reason") == "ACLNotAdmitted"
        assert bucket_policy(org_world, victim["bucket"]) == victim["policy"]
        return
    assert (condition(obj, "Reconciled") or {}).get("reason") == "GrantsInPlace"
    ours = json.loads(bucket_policy(org_world, victim["bucket"]))["Statement"][1:]
    setting = [s for s in ours if "s3:PutObjectVersionAcl" in json.dumps(s["Action"])]
    assert len(setting) == 1
    assert setting[0]["Condition"] == {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
    assert all("Condition" in s or s["Action"] == "s3:PutObject" for s in ours)


# ---------------------------------------------------------------- "verify now" against AWS quotas

FLOOD, BYSTANDER_NS, FLOOD_STATE = "tenancy-flood", "tenancy-bystander", "tenancy-flood-state"
WINDOW_S, RATE, BURST = 5.0, 1.0, 3  # the flood operator's verify-now limits
FLOOD_OBJECTS, FLOOD_S = 6, 6.0  # by their windows alone, 6 objects would earn 1.2 passes a second
BYSTANDER_DEADLINE_S = 10.0


@pytest.fixture(scope="module")
def quiet_operator(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    """An operator of its own, with no periodic pass or sweep within the test (a 1 h interval) and
    /metrics: every AWS call it makes during a flood is one the flood's verify-now passes bought."""
    ensure_namespace(kube, FLOOD, {"team": "tenancy"})
    ensure_namespace(kube, BYSTANDER_NS, {"team": "tenancy"})
    ensure_namespace(kube, FLOOD_STATE)
    extra = [
        *("--default-interval", "1h", "--metrics-port", str(free_port())),
        *("--verify-now-window", f"{WINDOW_S:g}s", "--verify-now-rate", f"{RATE:g}"),
        *("--verify-now-burst", str(BURST)),
    ]
    yield from operator_over(
        control_plane, org_world, tmp_path_factory, (FLOOD, BYSTANDER_NS), FLOOD_STATE, *extra
    )


@pytest.fixture(scope="module")
def flooder(
    control_plane: ControlPlane, kube: client.ApiClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[client.CustomObjectsApi]:
    """A tenant of the flood namespace, with the same restricted token as the tenant above."""
    yield from tenant_objects(
        control_plane, kube, FLOOD, tmp_path_factory.mktemp("flooder") / "tenant.kubeconfig"
    )


def verify_now(objects: client.CustomObjectsApi, ns: str, name: str) -> float:
    """Annotate s3access.dev/verify with a new value; returns the wall time it was asked."""
    asked = time.time()
    patch = {"metadata": {"annotations": {"s3access.dev/verify": f"{asked:.6f}"}}}
    objects.patch_namespaced_custom_object(GROUP, VERSION, ns, "bucketaccesses", name, patch)
    return asked


def rfc3339(wall: float) -> str:
    return dt.datetime.fromtimestamp(int(wall), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def last_verified(kube: client.ApiClient, ns: str, name: str) -> str:
    return str((get_ba(kube, ns, name).get("status") or {}).get("lastVerifiedTime") or "")


def verified_since(kube: client.ApiClient, ns: str, name: str, wall: float) -> bool:
    """Its status carries a verdict from a pass that ended at or after ``wall`` (to the second)."""
    return last_verified(kube, ns, name) >= rfc3339(wall)


def idle(
    operator: OperatorProcess,
    at_least: dict[str, float] | None = None,
    done: Callable[[], bool] = lambda: True,
) -> dict[str, float]:
    """The operator's metrics once they reach ``at_least`` (the watch events have arrived, the
    passes have ended), ``done`` holds, no verify-now pass waits and none runs."""

    def settled() -> dict[str, float] | None:
        m = operator.metrics()
        reached = all(m.get(name, 0.0) >= value for name, value in (at_least or {}).items())
        quiet = m["bucketaccess_verify_now_pending"] == 0 and m["bucketaccess_passes_in_flight"] == 0
        return m if reached and quiet and done() else None

    return wait_for(settled, 60, "every verify-now pass run")


def aws_reads(m: dict[str, float]) -> float:
    return m.get("bucketaccess_aws_calls_total", 0.0) - m.get("bucketaccess_aws_writes_total", 0.0)


def test_a_verify_now_flood_spends_only_its_namespace_budget(
    kube: client.ApiClient,
    quiet_operator: OperatorProcess,
    flooder: client.CustomObjectsApi,
    victim: dict[str, str],
) -> None:
    admin = client.CustomObjectsApi(kube)
    names = [unique("flood") for _ in range(FLOOD_OBJECTS)]
    for i, name in enumerate(names):
        body = bucket_access(
            name, FLOOD, cls=CLASS, bucket=victim["bucket"], prefix=f"f{i}/", role=victim["role"]
        )
        flooder.create_namespaced_custom_object(GROUP, VERSION, FLOOD, "bucketaccesses", body)
    bystander = unique("bystander")
    create(
        kube, bucket_access(bystander, BYSTANDER_NS, cls=CLASS, bucket=victim["bucket"], role=victim["role"])
    )
    for ns, name in [*((FLOOD, n) for n in names), (BYSTANDER_NS, bystander)]:
        wait_for(lambda ns=ns, name=name: verified_since(kube, ns, name, 0), 60, f"{name} verified")

    # what one fresh pass costs, alone
    before = idle(quiet_operator)
    verify_now(flooder, FLOOD, names[0])
    passes = "bucketaccess_verify_duration_seconds_count"
    after = idle(quiet_operator, {passes: before[passes] + 1})
    per_pass = aws_reads(after) - aws_reads(before)
    assert per_pass > 0

    # the bystander's next verdict must carry a new stamp (stamps are to the second)
    earlier = last_verified(kube, BYSTANDER_NS, bystander)
    wait_for(lambda: rfc3339(time.time()) > earlier, 5, "a second after the bystander's last verdict")

    # the flood: the namespace's objects annotated in a loop, as fast as the tenant's token goes
    def bystander_verified() -> bool:
        stamp = last_verified(kube, BYSTANDER_NS, bystander)
        return asked is not None and stamp > earlier and stamp >= rfc3339(asked)

    before, start = after, time.monotonic()
    last: dict[str, float] = {}
    sent = 0
    asked: float | None = None
    asked_at = seen_at = 0.0
    while time.monotonic() - start < FLOOD_S:
        for name in names:
            last[name] = verify_now(flooder, FLOOD, name)
        sent += len(names)
        if asked is None and time.monotonic() - start > 1.0:  # verify now in another namespace
            asked, asked_at = verify_now(admin, BYSTANDER_NS, bystander), time.monotonic()
        elif asked is not None and not seen_at and bystander_verified():
            seen_at = time.monotonic()  # while the flood goes on
    if not seen_at:
        wait_for(
            bystander_verified,
            BYSTANDER_DEADLINE_S - (time.monotonic() - asked_at),
            "the other namespace's verify-now, within its deadline",
        )
        seen_at = time.monotonic()
    requested = "bucketaccess_verify_now_requests_total"
    # Kopf hands a handler only the newest of an object's rapid watch events, so not every annotation
    # of the flood is a request the operator sees; what it must do is honour each object's last one
    after = idle(
        quiet_operator,
        {requested: before[requested] + 1},
        done=lambda: all(verified_since(kube, FLOOD, n, last[n]) for n in names),
    )
    elapsed = time.monotonic() - start

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    requests = delta(requested)
    fresh = requests - delta("bucketaccess_verify_now_coalesced_total")
    allowed = BURST + RATE * elapsed + 1  # the namespace's budget, and the bystander's one pass
    calls = aws_reads(after) - aws_reads(before)
    print(
        f"\nverify-now flood: {sent} requests in {FLOOD_S:g}s; {fresh:g} fresh passes "
        f"({delta('bucketaccess_verify_duration_seconds_count'):g} passes in all) "
        f"(allowed {allowed:.1f} in {elapsed:.1f}s); {calls:g} AWS reads, {per_pass:g} per pass alone, "
        f"{requests * per_pass:g} if each request bought a pass; "
        f"other namespace verified in {seen_at - asked_at:.1f}s"
    )
    assert 1 <= requests <= sent + 1  # (fewer when Kopf folded rapid annotations of one object)
    assert seen_at - asked_at <= BYSTANDER_DEADLINE_S
    assert fresh <= allowed
    assert delta("bucketaccess_verify_now_deferred_total") >= 1  # the budget, not only the windows, held it
    assert calls <= allowed * per_pass
    # nothing lost: each object's last request has a verdict from reads made after it
    for name in names:
        assert verified_since(kube, FLOOD, name, last[name]), name
