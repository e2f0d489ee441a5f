"""Small helpers over the real API server for the e2e tests: apply manifests, wait on conditions."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

ROOT = Path(__file__).resolve().parents[2]
GROUP, VERSION = "s3access.dev", "v1alpha1"
# The layer conditions every verified object carries, as the spec lists them (written out here,
# not imported from the operator, so that a layer the operator drops fails the tests).
LAYERS = (
    "IdentityPolicyAllows",
    "KMSKeyUsable",
    "BucketPolicyAllows",
    "BucketACLAllows",
    "SCPAllows",
    "RCPAllows",
    "PermissionsBoundaryAllows",
    "PublicAccessBlockAllows",
)
T = TypeVar("T")


def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll ``probe`` until it returns something truthy, or fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except ApiException as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def install_crds(api: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api)
    for path in sorted((ROOT / "crds").glob("s3access.dev_*.yaml")):
        for doc in load_docs(path):
            try:
                ext.create_custom_resource_definition(doc)
            except ApiException as exc:
                if exc.status != 409:
                    raise
    for name in ("bucketaccesses.s3access.dev", "bucketaccessclasses.s3access.dev"):
        wait_for(lambda n=name: _established(ext, n), 30, f"CRD {name} Established")


def _established(ext: client.ApiextensionsV1Api, name: str) -> bool:
    crd = ext.read_custom_resource_definition(name)
    return any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or []))


def ensure_namespace(api: client.ApiClient, name: str, labels: dict[str, str] | None = None) -> None:
    core = client.CoreV1Api(api)
    body = {"metadata": {"name": name, "labels": labels or {}}}
    try:
        core.create_namespace(body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        core.patch_namespace(name, body)


def create(api: client.ApiClient, doc: dict[str, Any], strict: bool = True) -> dict[str, Any]:
    objs = client.CustomObjectsApi(api)
    plural = "bucketaccesses" if doc["kind"] == "BucketAccess" else "bucketaccessclasses"
    validation = "Strict" if strict else None
    if doc["kind"] == "BucketAccess":
        ns = doc["metadata"].get("namespace", "default")
        return objs.create_namespaced_custom_object(
            GROUP, VERSION, ns, plural, doc, field_validation=validation
        )  # type: ignore[no-any-return]
    return objs.create_cluster_custom_object(GROUP, VERSION, plural, doc, field_validation=validation)  # type: ignore[no-any-return]


def get_ba(api: client.ApiClient, ns: str, name: str) -> dict[str, Any]:
    return client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, ns, "bucketaccesses", name
    )  # type: ignore[no-any-return]


def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c  # type: ignore[no-any-return]
    return None


def wait_ready(api: client.ApiClient, ns: str, name: str, status: str, timeout: float = 60) -> dict[str, Any]:
    """Wait until the object's Ready condition has ``status``; return the object."""

    def probe() -> dict[str, Any] | None:
        obj = get_ba(api, ns, name)
        ready = condition(obj, "Ready")
        return obj if ready and ready["status"] == status else None

    return wait_for(probe, timeout, f"{ns}/{name} Ready={status}")


def token_for(kube: client.ApiClient, namespace: str, name: str) -> str:
    """A short-lived token of a ServiceAccount, to act as it against the real API server."""
    request = client.CoreV1Api(kube).create_namespaced_service_account_token(
        name, namespace, {"spec": {"expirationSeconds": 3600}}
    )
    return str(request.status.token)


def judged_again(api: client.ApiClient, ns: str, name: str, timeout: float = 60) -> dict[str, Any]:
    """The object after a verdict for a generation it did not have before: a pass has run since the
    call, whatever its outcome. (A request its class does not admit keeps no lastVerifiedTime, since
    nothing of it is verified in AWS, and an unchanged verdict writes nothing: a spec change is the
    signal that cannot be missed.)"""
    before = wait_for(
        lambda: o if (o := get_ba(api, ns, name)).get("status") else None, timeout, f"{name} judged"
    )
    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, ns, "bucketaccesses", name, {"spec": {"verifyInterval": "31s"}}
    )
    generation = int(before["metadata"]["generation"]) + 1

    def probe() -> dict[str, Any] | None:
        obj = get_ba(api, ns, name)
        return obj if (obj.get("status") or {}).get("observedGeneration") == generation else None

    return wait_for(probe, timeout, f"{ns}/{name} judged at generation {generation}")
