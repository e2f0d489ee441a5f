"""The operator, started as its own process against the local control plane, writes status that
follows the object's generation, and Kopf writes nothing on the object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from devenv.controlplane import ControlPlane
from devenv.moto_server import MotoServer
from tests.e2e.kube import GROUP, VERSION, condition, create, ensure_namespace, get_ba, wait_for
from tests.e2e.operator_proc import OperatorProcess
from tests.manifests import bucket_access

pytestmark = pytest.mark.e2e
NS = "skeleton"


@pytest.fixture(scope="module")
def operator(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    moto: MotoServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    ensure_namespace(kube, NS)
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    with OperatorProcess(control_plane.kubeconfig, log, ["--namespace", NS], env=moto.env()) as proc:
        yield proc


def _ba(name: str) -> dict[str, Any]:
    return bucket_access(
        name, NS, cls="none", bucket="skeleton-bucket", role="arn:aws:iam::111122223333:role/r"
    )


def test_status_follows_generation(kube: client.ApiClient, operator: OperatorProcess) -> None:
    create(kube, _ba("fresh"))

    def status_for(generation: int) -> dict | None:  # type: ignore[type-arg]
        obj = get_ba(kube, NS, "fresh")
        return obj if (obj.get("status") or {}).get("observedGeneration") == generation else None

    obj = wait_for(lambda: status_for(1), 30, "observedGeneration 1")
    ready = condition(obj, "Ready")
    # the class does not exist: Ready says so, and nothing of the request is read in AWS
    assert ready is not None and ready["status"] == "False" and ready["reason"] == "ClassNotFound"
    assert "not admitted" in ready["message"] and "not evaluated" in ready["message"]
    identity = condition(obj, "IdentityPolicyAllows")
    assert identity is not None and (identity["status"], identity["reason"]) == ("Unknown", "NotAdmitted")
    assert ready["observedGeneration"] == 1
    admitted = condition(obj, "Admitted")
    assert admitted is not None and (admitted["status"], admitted["reason"]) == ("False", "ClassNotFound")
    assert not any(k == "status" for k in obj["status"] if k.startswith("kopf")), obj["status"]

    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        GROUP, VERSION, NS, "bucketaccesses", "fresh", {"spec": {"prefix": "new/"}}
    )
    obj = wait_for(lambda: status_for(2), 30, "observedGeneration 2 after an update")
    ready2 = condition(obj, "Ready")
    assert ready2 is not None and ready2["observedGeneration"] == 2
    # the status did not flip, so the transition time stays
    assert ready2["lastTransitionTime"] == ready["lastTransitionTime"]
    # status holds ours only
    assert set(obj["status"]) <= {
        "observedGeneration",
        "conditions",
        "decision",
        "roleArn",
        "identity",
        "lastVerifiedTime",
        "managed",
    }
    # Kopf writes nothing on the object (event handlers only), and an object the operator wrote
    # nothing to AWS for carries no cleanup finalizer
    annotations = obj["metadata"].get("annotations") or {}
    assert not any(k.startswith(("kopf.zalando.org/", "s3access.dev/")) for k in annotations), annotations
    assert not obj["metadata"].get("finalizers"), obj["metadata"]
