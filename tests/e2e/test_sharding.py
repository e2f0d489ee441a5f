"""Two operator processes over one cluster, each limited to its own namespaces: every object is
handled by exactly one of them."""

from __future__ import annotations

import re

import pytest
from kubernetes import client

from devenv.controlplane import ControlPlane
from devenv.org_world import OrgWorld, doc, unique
from tests.e2e.kube import condition, create, ensure_namespace, get_ba, wait_for
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
