"""Two operator processes over one cluster, each limited to its own namespaces: every object is
handled by exactly one of them; and shards (each its own record name) that share a bucket and a
KMS key keep each other's grants."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from bucketaccess.grants.merge import BUCKET_POLICY_LIMIT
from bucketaccess.grants.plan import BUCKET_SID
from bucketaccess.grants.shard import Shard
from devenv.controlplane import ControlPlane, free_port
from devenv.org_world import OrgWorld, doc, unique
from tests.e2e.kube import (
    GROUP,
    VERSION,
    condition,
    create,
    ensure_namespace,
    get_ba,
    judged_again,
    wait_for,
    wait_ready,
)
from tests.e2e.operator_proc import OperatorProcess
from tests.manifests import access_class, bucket_access

pytestmark = pytest.mark.e2e
SHARDS = {"shard-a": ["team-a1", "team-a2"], "shard-b": ["team-b1"]}


def test_each_object_is_handled_by_exactly_one_shard(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    namespaces = [ns for group in SHARDS.values() for ns in group]
    for ns in namespaces:
        ensure_namespace(kube, ns, {"sharding": "yes"})
    create(
        kube,
        access_class("sharding", namespace_labels={"sharding": "yes"}),
    )
    role, bucket = unique("shard"), unique("shard")
    org_world.seed(
        {
            "roles": [
                {
                    "name": role,
                    "inline": {"put": doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})},
                }
            ],
            "buckets": [{"name": bucket}],
        }
    )
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    logs = {}
    procs = []
    try:
        for shard, group in SHARDS.items():
            logs[shard] = tmp_path_factory.mktemp(shard) / "operator.log"
            args = [a for ns in group for a in ("--namespace", ns)] + org_world.operator_args()
            procs.append(
                OperatorProcess(
                    control_plane.kubeconfig, logs[shard], args, env=org_world.operator_env()
                ).start()
            )
        objects = [(ns, f"obj-{i}") for ns in namespaces for i in range(3)]
        for ns, name in objects:
            create(
                kube,
                bucket_access(name, ns, cls="sharding", bucket=bucket, role=arn),
            )
        for ns, name in objects:
            wait_for(
                lambda ns=ns, name=name: (
                    (c := condition(get_ba(kube, ns, name), "Ready")) and c["status"] == "True"
                ),
                60,
                f"{ns}/{name} Ready",
            )
    finally:
        for proc in procs:
            proc.stop()
    handled: dict[tuple[str, str], set[str]] = {}
    for shard, path in logs.items():
        for ns, name in re.findall(r"verified ([\w-]+)/([\w-]+): Ready=", path.read_text()):
            handled.setdefault((ns, name), set()).add(shard)
    assert set(handled) == set(objects), "every object handled (none by neither)"
    for (ns, _), shards in handled.items():
        expected = next(s for s, group in SHARDS.items() if ns in group)
        assert shards == {expected}, f"{ns} handled by {shards}"


# Shards that share a bucket and a key: two operator processes, each with its own record name and
# namespace, each with objects on one bucket whose default encryption is one KMS key.
SHARED = {"shard-a": "share-a", "shard-b": "share-b"}
WRITES = (
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "kms:PutKeyPolicy",
    "kms:CreateGrant",
    "kms:RevokeGrant",
)
PASSES = 20


@pytest.fixture(scope="module")
def shards(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, OperatorProcess]]:
    for ns in SHARED.values():
        ensure_namespace(kube, ns, {"sharing": "yes"})
    for mode in ("KeyPolicy", "Grant"):
        create(
            kube,
            access_class(
                f"sharing-{mode.lower()}",
                namespace_labels={"sharing": "yes"},
                bucket_policy="Manage",
                kms_key_users=mode,
            ),
        )
    procs: dict[str, OperatorProcess] = {}
    try:
        for record, ns in SHARED.items():
            log = tmp_path_factory.mktemp(record) / "operator.log"
            args = ["--namespace", ns, "--record-name", record, "--metrics-port", str(free_port())]
            procs[record] = OperatorProcess(
                control_plane.kubeconfig,
                log,
                [*args, *org_world.operator_args()],
                env=org_world.operator_env(),
            ).start()
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


def _writes(proc: OperatorProcess, *resources: str) -> list[str]:
    """The policy and grant writes the process has made to these resources, in order."""
    if not proc.calls.exists():
        return []
    calls = [json.loads(line) for line in proc.calls.read_text().splitlines()]
    return [c["action"] for c in calls if c["action"] in WRITES and c["resource"] in resources]


def _passes(proc: OperatorProcess) -> float:
    return proc.metrics().get("bucketaccess_verify_duration_seconds_count", 0.0)


def _principals(statement: dict[str, Any]) -> set[str]:
    aws = statement["Principal"]["AWS"]
    return {aws} if isinstance(aws, str) else set(aws)


class _SharedWorld:
    """One bucket, one key, roles for both shards, and what AWS holds of each shard's."""

    def __init__(self, org_world: OrgWorld, mode: str) -> None:
        self.org_world, self.mode = org_world, mode
        self.bucket = unique(f"shared-{mode.lower()}")
        names = {n: unique(f"sh-{n}") for n in ("a", "b", "both", "late-a", "late-b")}
        admin = {
            "Sid": "EnableIAM",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
        read_only = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
        seeded = org_world.seed(
            {
                # no s3:PutObject of their own: an upload works only with the managed grants
                "roles": [{"name": n, "inline": {"read": read_only}} for n in names.values()],
                "keys": [{"ref": "k", "policy": doc(admin)}],
                "buckets": [
                    {
                        "name": self.bucket,
                        "encryption": {"algorithm": "aws:kms", "key": "k", "bucketKeyEnabled": True},
                    }
                ],
            }
        )
        self.key = seeded.keys["k"]
        self.role = {n: f"arn:aws:iam::{org_world.workloads}:role/{r}" for n, r in names.items()}
        self.shard = {record: Shard.of(record) for record in SHARED}

    def bucket_policy(self) -> list[dict[str, Any]]:
        s3 = self.org_world.client("s3")
        try:
            text = s3.get_bucket_policy(Bucket=self.bucket)["Policy"]
        except s3.exceptions.ClientError:
            return []
        return list(json.loads(text)["Statement"])

    def held(self, record: str) -> set[str]:
        """The roles shard ``record``'s managed statements (or grants) grant, on the bucket and key."""
        shard = self.shard[record]
        bucket = {
            p for s in self.bucket_policy() if shard.bucket_sids.match(s["Sid"]) for p in _principals(s)
        }
        kms = self.org_world.client("kms")
        if self.mode == "KeyPolicy":
            policy = json.loads(kms.get_key_policy(KeyId=self.key, PolicyName="default")["Policy"])
            key = {p for s in policy["Statement"] if shard.key_sids.match(s["Sid"]) for p in _principals(s)}
        else:
            grants = kms.list_grants(KeyId=self.key)["Grants"]
            key = {g["GranteePrincipal"] for g in grants if shard.grant_names.match(g.get("Name", ""))}
        return {f"bucket:{r}" for r in bucket} | {f"key:{r}" for r in key}

    def wanted(self, *roles: str) -> set[str]:
        return {f"{kind}:{self.role[r]}" for kind in ("bucket", "key") for r in roles}

    def fill(self) -> None:
        """A foreign statement that leaves less room in the bucket policy than any new grant takes."""
        statements = self.bucket_policy()
        pad: dict[str, Any] = {
            "Sid": "Pad",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{self.org_world.workloads}:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{self.bucket}/pad/",
        }
        size = len(json.dumps(doc(*statements, pad), separators=(",", ":")))
        pad["Resource"] += "p" * (BUCKET_POLICY_LIMIT - 60 - size)
        text = json.dumps(doc(pad, *statements), separators=(",", ":"))
        self.org_world.client("s3").put_bucket_policy(Bucket=self.bucket, Policy=text)


def _delete(kube: client.ApiClient, ns: str, name: str) -> None:
    objs = client.CustomObjectsApi(kube)
    objs.delete_namespaced_custom_object(GROUP, VERSION, ns, "bucketaccesses", name)

    def gone() -> bool:
        try:
            objs.get_namespaced_custom_object(GROUP, VERSION, ns, "bucketaccesses", name)
        except client.ApiException as exc:
            return bool(exc.status == 404)
        return False

    wait_for(gone, 60, f"{ns}/{name} deleted")


def _refused(kube: client.ApiClient, ns: str, name: str) -> dict[str, Any]:
    """The object's Reconciled condition, once it is False."""

    def probe() -> dict[str, Any] | None:
        found = condition(get_ba(kube, ns, name), "Reconciled")
        return found if found and found["status"] == "False" else None

    return wait_for(probe, 60, f"{ns}/{name} Reconciled=False")


@pytest.mark.parametrize("mode", ["KeyPolicy", "Grant"])
def test_shards_share_a_bucket_and_a_key_without_removing_each_others_grants(
    kube: client.ApiClient, shards: dict[str, OperatorProcess], org_world: OrgWorld, mode: str
) -> None:
    w = _SharedWorld(org_world, mode)
    cls = f"sharing-{mode.lower()}"
    # the same role in both shards too: each shard holds its own statement for it
    objects = {
        "shard-a": {"a": "a/", "both": "common/"},
        "shard-b": {"b": "b/", "both": "common/"},
    }
    for record, mine in objects.items():
        for role, prefix in mine.items():
            name = f"{mode.lower()}-{role}"
            create(
                kube,
                bucket_access(
                    name, SHARED[record], cls=cls, bucket=w.bucket, prefix=prefix, role=w.role[role]
                ),
            )
    for record, mine in objects.items():
        for role in mine:
            wait_ready(kube, SHARED[record], f"{mode.lower()}-{role}", "True", 90)
    wait_for(
        lambda: w.held("shard-a") == w.wanted("a", "both") and w.held("shard-b") == w.wanted("b", "both"),
        60,
        "each shard's grants in place",
    )

    # twenty passes of each shard's objects: not one more write, by either
    resources = (f"arn:aws:s3:::{w.bucket}", w.key)
    before = {r: (_writes(p, *resources), _passes(p)) for r, p in shards.items()}
    assert all(writes for writes, _ in before.values()), "each shard wrote its own grants"
    wait_for(
        lambda: all(_passes(p) >= before[r][1] + PASSES * len(objects[r]) for r, p in shards.items()),
        PASSES * 2 * 5,
        f"{PASSES} passes of every object",
        interval=1,
    )
    for record, proc in shards.items():
        assert _writes(proc, *resources) == before[record][0], f"{record} wrote again: flapping"
    assert w.held("shard-a") == w.wanted("a", "both") and w.held("shard-b") == w.wanted("b", "both")

    # the policy full (a foreign statement, and both shards' grants): a newcomer of either shard is
    # refused by the size guard, and nobody's grant is touched
    w.fill()
    for record in SHARED:
        late = f"late-{record[-1]}"
        create(
            kube,
            bucket_access(
                f"{mode.lower()}-{late}",
                SHARED[record],
                cls=cls,
                bucket=w.bucket,
                prefix=f"{late}/",
                role=w.role[late],
            ),
        )
    for record in SHARED:
        reconciled = _refused(kube, SHARED[record], f"{mode.lower()}-late-{record[-1]}")
        assert reconciled["reason"] == "PolicySizeLimit", reconciled
    # (a refused object's key user is still written: only its bucket grant does not fit)
    assert w.held("shard-a") >= w.wanted("a", "both") and w.held("shard-b") >= w.wanted("b", "both")
    granted = {p for s in w.bucket_policy() if BUCKET_SID.match(s["Sid"]) for p in _principals(s)}
    assert granted == {w.role[r] for r in ("a", "b", "both")}
    for record in SHARED:
        _delete(kube, SHARED[record], f"{mode.lower()}-late-{record[-1]}")

    # shard A's objects deleted: its grants go, shard B's stay (and its objects stay Ready)
    for role in objects["shard-a"]:
        _delete(kube, SHARED["shard-a"], f"{mode.lower()}-{role}")
    wait_for(lambda: w.held("shard-a") == set(), 60, "shard A's grants removed")
    assert w.held("shard-b") == w.wanted("b", "both")
    assert any(s["Sid"] == "Pad" for s in w.bucket_policy()), "the foreign statement stays"
    for role in objects["shard-b"]:
        judged = judged_again(kube, SHARED["shard-b"], f"{mode.lower()}-{role}")
        assert condition(judged, "Ready")["status"] == "True"  # type: ignore[index]
        _delete(kube, SHARED["shard-b"], f"{mode.lower()}-{role}")
    wait_for(lambda: w.held("shard-b") == set(), 60, "shard B's grants removed")
