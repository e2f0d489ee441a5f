"""deploy/ on a real API server with RBAC on: it renders, applies, is admitted under the restricted
pod security profile, and its ClusterRole is enough for the operator (and one rule less is not)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from devenv.controlplane import ControlPlane
from devenv.org_world import OrgWorld, doc, unique
from tests.e2e.kube import (
    GROUP,
    ROOT,
    VERSION,
    api_client,
    condition,
    ensure_namespace,
    judged_again,
    token_for,
    wait_for,
)
from tests.e2e.kube import wait_ready as kube_wait_ready
from tests.e2e.operator_proc import OperatorProcess
from tests.manifests import access_class, bucket_access

pytestmark = pytest.mark.e2e
SYSTEM_NS = "bucketaccess-system"
NS, TENANT_NS = "rbac", "rbac-tenant"
KUBECTL = str(Path(sys.executable).parent / "kubectl")
NO_PUT = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})


def kubectl(cp: ControlPlane, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [KUBECTL, "--kubeconfig", str(cp.kubeconfig), *args], capture_output=True, text=True, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {proc.stderr}")
    return proc


def rendered(cp: ControlPlane, path: str = "deploy") -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(kubectl(cp, "kustomize", str(ROOT / path)).stdout) if d]


@pytest.fixture(scope="module")
def installed(control_plane: ControlPlane, kube: client.ApiClient) -> None:
    kubectl(control_plane, "apply", "--server-side", "--force-conflicts", "-k", str(ROOT / "deploy"))


def test_kustomize_renders_everything(control_plane: ControlPlane) -> None:
    kinds = sorted(d["kind"] for d in rendered(control_plane))
    assert kinds == sorted(
        [
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "Deployment",
            "PodDisruptionBudget",
            "Service",
        ]
    )
    overlay = sorted(d["kind"] for d in rendered(control_plane, "deploy/overlays/namespaced"))
    assert "Role" in overlay and "RoleBinding" in overlay


def test_everything_applies_with_server_dry_run(control_plane: ControlPlane, installed: None) -> None:
    out = kubectl(
        control_plane,
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "-k",
        str(ROOT / "deploy"),
    )
    assert "would violate" not in out.stderr and "Error" not in out.stderr, out.stderr
    assert out.stdout.count("(server dry run)") == 11
    overlay = kubectl(
        control_plane,
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "-k",
        str(ROOT / "deploy/overlays/namespaced"),
        check=False,
    )
    # team-a does not exist here: everything else of the overlay must be fine
    assert all("team-a" in line for line in overlay.stderr.splitlines() if "Error" in line), overlay.stderr


def test_the_operator_pod_is_admitted_under_restricted_pod_security(
    control_plane: ControlPlane, kube: client.ApiClient, installed: None
) -> None:
    ns = client.CoreV1Api(kube).read_namespace(SYSTEM_NS)
    assert ns.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    deployment = next(d for d in rendered(control_plane) if d["kind"] == "Deployment")
    template = deployment["spec"]["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "operator-check", **template["metadata"]},
        "spec": template["spec"],
    }
    client.CoreV1Api(kube).create_namespaced_pod(
        SYSTEM_NS, pod, dry_run="All"
    )  # refused if it broke the profile
    privileged = json.loads(json.dumps(pod))
    privileged["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    with pytest.raises(ApiException) as info:
        client.CoreV1Api(kube).create_namespaced_pod(SYSTEM_NS, privileged, dry_run="All")
    assert "PodSecurity" in info.value.body  # the profile is really enforced here
    # two replicas behind a Lease: a rollout or a lost node never stops verification
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate" and deployment["spec"]["replicas"] == 2
    env = {e["name"]: e.get("value") for e in template["spec"]["containers"][0]["env"]}
    assert env["BUCKETACCESS_LEADER_ELECT"] == "true"


@pytest.fixture(scope="module")
def operator_sa_kubeconfig(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    installed: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    return control_plane.kubeconfig_for_token(
        token_for(kube, SYSTEM_NS, "bucketaccess-operator"),
        tmp_path_factory.mktemp("rbac") / "operator.kubeconfig",
    )


@pytest.fixture(scope="module")
def rbac_operator(
    operator_sa_kubeconfig: Path,
    kube: client.ApiClient,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    ensure_namespace(kube, NS, {"team": "rbac"})
    ensure_namespace(kube, TENANT_NS, {"team": "tenant"})
    objs = client.CustomObjectsApi(kube)
    objs.create_cluster_custom_object(
        GROUP,
        VERSION,
        "bucketaccessclasses",
        access_class("rbac-manage", namespace_labels={"team": "rbac"}, bucket_policy="Manage"),
    )
    log = tmp_path_factory.mktemp("rbac-operator") / "operator.log"
    # the names deploy/base/role.yaml grants, and leader election on as deployed: the Role's Lease
    # rules are exercised with the operator's own token
    args = [
        "--namespace",
        NS,
        "--namespace",
        TENANT_NS,
        "--record-name",
        "bucketaccess-managed",
        "--leader-elect",
    ]
    args += [
        "--lease-duration",
        "4s",
        "--renew-deadline",
        "3s",
        "--retry-period",
        "500ms",
        *org_world.operator_args(),
    ]
    with OperatorProcess(operator_sa_kubeconfig, log, args, env=org_world.operator_env()) as proc:
        yield proc


def ba(name: str, ns: str, bucket: str, role: str, cls: str = "rbac-manage") -> dict[str, Any]:
    return bucket_access(name, ns, cls=cls, bucket=bucket, prefix="in/", role=role)


def ready(kube: client.ApiClient, ns: str, name: str, status: str) -> dict[str, Any]:
    return kube_wait_ready(kube, ns, name, status)


def test_operator_with_only_its_clusterrole_verifies_and_reconciles(
    kube: client.ApiClient, rbac_operator: OperatorProcess, org_world: OrgWorld
) -> None:
    objs = client.CustomObjectsApi(kube)
    # verification: the article's cause 3, an explicit Deny in the bucket policy
    role, bucket = unique("rbac-put"), unique("rbac-deny")
    deny = {
        "Sid": "ExampleStmt",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {
            "StringNotLikeIfExists": {
                "s3:x-amz-server-side-encryption-aws-kms-key-id": f"arn:aws:kms:us-east-1:{org_world.workloads}:key/*"
            }
        },
    }
    org_world.seed(
        {
            "roles": [
                {
                    "name": role,
                    "inline": {"put": doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})},
                }
            ],
            "buckets": [{"name": bucket, "policy": doc(deny)}],
        }
    )
    objs.create_namespaced_custom_object(
        GROUP,
        VERSION,
        NS,
        "bucketaccesses",
        ba("deny", NS, bucket, f"arn:aws:iam::{org_world.workloads}:role/{role}"),
    )
    obj = ready(kube, NS, "deny", "False")
    assert condition(obj, "Ready")["reason"] == "ExplicitDenyInBucketPolicy"  # type: ignore[index]

    # reconciliation: a grant makes an identity without s3:PutObject ready
    role2, bucket2 = unique("rbac-noput"), unique("rbac-grant")
    org_world.seed({"roles": [{"name": role2, "inline": {"read": NO_PUT}}], "buckets": [{"name": bucket2}]})
    objs.create_namespaced_custom_object(
        GROUP,
        VERSION,
        NS,
        "bucketaccesses",
        ba("grant", NS, bucket2, f"arn:aws:iam::{org_world.workloads}:role/{role2}"),
    )
    obj = ready(kube, NS, "grant", "True")
    assert obj["status"]["managed"]["bucketPolicySid"]
    assert "s3access.dev/cleanup" in obj["metadata"]["finalizers"]
    objs.delete_namespaced_custom_object(GROUP, VERSION, NS, "bucketaccesses", "grant")
    wait_for(
        lambda: (
            not objs.list_namespaced_custom_object(
                GROUP, VERSION, NS, "bucketaccesses", field_selector="metadata.name=grant"
            )["items"]
        ),
        30,
        "deletion",
    )


def test_tenant_cannot_grant_itself_a_bucket(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    rbac_operator: OperatorProcess,
    org_world: OrgWorld,
    tmp_path: Path,
) -> None:
    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    core.create_namespaced_service_account(TENANT_NS, {"metadata": {"name": "tenant"}})
    rbac.create_namespaced_role(
        TENANT_NS,
        {
            "metadata": {"name": "ba-author"},
            "rules": [
                {
                    "apiGroups": [GROUP],
                    "resources": ["bucketaccesses"],
                    "verbs": ["create", "get", "list", "watch"],
                }
            ],
        },
    )
    rbac.create_namespaced_role_binding(
        TENANT_NS,
        {
            "metadata": {"name": "ba-author"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ba-author"},
            "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": TENANT_NS}],
        },
    )
    tenant = api_client(
        control_plane.kubeconfig_for_token(
            token_for(kube, TENANT_NS, "tenant"), tmp_path / "tenant.kubeconfig"
        )
    )
    role, bucket = unique("victim-writer"), unique("victim")
    original = json.dumps(
        doc(
            {
                "Sid": "Owner",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:role/owner"},
                "Action": "s3:*",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        )
    )
    org_world.seed({"roles": [{"name": role, "inline": {"read": NO_PUT}}], "buckets": [{"name": bucket}]})
    org_world.client("s3").put_bucket_policy(Bucket=bucket, Policy=original)
    tenant_objs = client.CustomObjectsApi(tenant)
    with pytest.raises(ApiException) as info:
        tenant_objs.create_namespaced_custom_object(
            GROUP,
            VERSION,
            NS,
            "bucketaccesses",
            ba("elsewhere", NS, bucket, f"arn:aws:iam::{org_world.workloads}:role/{role}"),
        )
    assert info.value.status == 403
    # a class that admits namespaces labelled team=rbac only: the tenant's request is not admitted
    tenant_objs.create_namespaced_custom_object(
        GROUP,
        VERSION,
        TENANT_NS,
        "bucketaccesses",
        ba("self-grant", TENANT_NS, bucket, f"arn:aws:iam::{org_world.workloads}:role/{role}"),
    )
    obj = ready(kube, TENANT_NS, "self-grant", "False")
    admitted = condition(obj, "Admitted")
    assert admitted is not None and (admitted["status"], admitted["reason"]) == (
        "False",
        "NamespaceNotAdmitted",
    )
    assert "lastVerifiedTime" not in obj["status"]  # nothing of it is verified in AWS
    judged_again(kube, TENANT_NS, "self-grant")
    assert org_world.client("s3").get_bucket_policy(Bucket=bucket)["Policy"] == original
    tenant.close()


def test_a_missing_rule_is_reported_not_hung(
    kube: client.ApiClient, rbac_operator: OperatorProcess, org_world: OrgWorld
) -> None:
    rbac = client.RbacAuthorizationV1Api(kube)
    role = rbac.read_cluster_role("bucketaccess-operator")
    kept = [r for r in role.rules if "bucketaccesses/status" not in (r.resources or [])]
    assert len(kept) == len(role.rules) - 1
    rbac.patch_cluster_role(
        "bucketaccess-operator", {"rules": [client.ApiClient().sanitize_for_serialization(r) for r in kept]}
    )
    try:
        role_name, bucket = unique("rbac-missing"), unique("rbac-missing")
        org_world.seed(
            {"roles": [{"name": role_name, "inline": {"read": NO_PUT}}], "buckets": [{"name": bucket}]}
        )
        client.CustomObjectsApi(kube).create_namespaced_custom_object(
            GROUP,
            VERSION,
            NS,
            "bucketaccesses",
            ba("forbidden", NS, bucket, f"arn:aws:iam::{org_world.workloads}:role/{role_name}", cls="none"),
        )
        wait_for(
            lambda: "forbidden to patch bucketaccesses/status" in rbac_operator.log.read_text(),
            30,
            "the clear RBAC error in the operator log",
        )
        assert rbac_operator.proc is not None and rbac_operator.proc.poll() is None  # still running
    finally:
        rbac.replace_cluster_role(
            "bucketaccess-operator",
            {
                "metadata": {"name": "bucketaccess-operator"},
                "rules": [client.ApiClient().sanitize_for_serialization(r) for r in role.rules],
            },
        )
    ready(kube, NS, "forbidden", "False")  # once the rule is back, status is written again
