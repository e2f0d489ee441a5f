"""The Argo CD health checks of deploy/argocd/, run by a Lua 5.1 runtime (Argo CD's Lua is 5.1)
against status bodies the operator really wrote on the real API server: Healthy when Ready,
Degraded with the reason when not, Progressing before the first verdict."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lupa.lua51 as lua51
import pytest
from kubernetes import client

from devenv.controlplane import ControlPlane
from devenv.org_world import OrgWorld, doc, unique
from tests.e2e.kube import create, ensure_namespace, get_ba, wait_ready
from tests.e2e.operator_proc import OperatorProcess
from tests.manifests import access_class, bucket_access

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NS, UNWATCHED = "argocd-health", "argocd-unwatched"
PUT = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})


def health(script: str, body: dict[str, Any]) -> tuple[str, str]:
    """Run a health check the way Argo CD does: the resource as the global ``obj``."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(body, recursive=True)
    result = lua.execute(script)
    return str(result["status"]), str(result["message"])


def script(name: str) -> str:
    return (ROOT / "deploy/argocd" / name).read_text()


@pytest.fixture(scope="module")
def bodies(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, dict[str, Any]]]:
    ensure_namespace(kube, NS, {"argocd-health": "yes"})
    ensure_namespace(kube, UNWATCHED, {"argocd-health": "yes"})
    create(kube, access_class("argocd-health", namespace_labels={"argocd-health": "yes"}))
    role, open_bucket, denied_bucket = unique("argo"), unique("argo-open"), unique("argo-deny")
    deny = {
        "Sid": "DenyUploads",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{denied_bucket}/*",
    }
    org_world.seed(
        {
            "roles": [{"name": role, "inline": {"put": PUT}}],
            "buckets": [{"name": open_bucket}, {"name": denied_bucket, "policy": doc(deny)}],
        }
    )
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    log = tmp_path_factory.mktemp("argocd") / "operator.log"
    args = ["--namespace", NS, *org_world.operator_args()]
    with OperatorProcess(control_plane.kubeconfig, log, args, env=org_world.operator_env()):
        create(kube, bucket_access("ready", NS, cls="argocd-health", bucket=open_bucket, role=arn))
        create(kube, bucket_access("denied", NS, cls="argocd-health", bucket=denied_bucket, role=arn))
        # a namespace no operator watches: its object never gets a verdict
        create(kube, bucket_access("pending", UNWATCHED, cls="argocd-health", bucket=open_bucket, role=arn))
        yield {
            "ready": wait_ready(kube, NS, "ready", "True"),
            "denied": wait_ready(kube, NS, "denied", "False"),
            "pending": get_ba(kube, UNWATCHED, "pending"),
        }


def test_ready_is_healthy(bodies: dict[str, dict[str, Any]]) -> None:
    status, message = health(script("bucketaccess-health.lua"), bodies["ready"])
    assert status == "Healthy"
    ready = next(c for c in bodies["ready"]["status"]["conditions"] if c["type"] == "Ready")
    assert message == ready["message"]


def test_not_ready_is_degraded_with_the_reason(bodies: dict[str, dict[str, Any]]) -> None:
    status, message = health(script("bucketaccess-health.lua"), bodies["denied"])
    assert status == "Degraded"
    assert message.startswith("ExplicitDenyInBucketPolicy: ") and "DenyUploads" in message


def test_before_the_first_verdict_it_is_progressing(bodies: dict[str, dict[str, Any]]) -> None:
    assert "status" not in bodies["pending"] or not bodies["pending"]["status"]
    assert health(script("bucketaccess-health.lua"), bodies["pending"])[0] == "Progressing"


def test_a_spec_the_operator_has_not_verified_yet_is_progressing(bodies: dict[str, dict[str, Any]]) -> None:
    """The Ready body of the operator, as the API server shows it right after a spec edit."""
    edited = copy.deepcopy(bodies["ready"])
    edited["metadata"]["generation"] = edited["status"]["observedGeneration"] + 1
    status, message = health(script("bucketaccess-health.lua"), edited)
    assert status == "Progressing" and "not yet verified" in message


def test_an_unknown_verdict_is_progressing(bodies: dict[str, dict[str, Any]]) -> None:
    unknown = copy.deepcopy(bodies["denied"])
    for c in unknown["status"]["conditions"]:
        if c["type"] == "Ready":
            c.update(status="Unknown", reason="AWSUnavailable", message="AWS did not answer")
    assert health(script("bucketaccess-health.lua"), unknown) == (
        "Progressing",
        "AWSUnavailable: AWS did not answer",
    )


def test_a_class_is_healthy() -> None:
    body = access_class("any", namespace_labels={"a": "b"})
    assert health(script("bucketaccessclass-health.lua"), body)[0] == "Healthy"


def test_the_docs_carry_the_scripts_verbatim() -> None:
    text = (ROOT / "docs/gitops.md").read_text()
    for name in ("bucketaccess-health.lua", "bucketaccessclass-health.lua"):
        indented = "\n".join(("    " + line).rstrip() for line in script(name).strip().splitlines())
        assert indented in text, f"docs/gitops.md does not carry deploy/argocd/{name} as it is"
