"""The declared uploads of a cluster, for one-shot commands (``impact``, ``why``): every
BucketAccess in scope, with its class and its namespace's labels, as a pass sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException

from ..reconcile import Subject
from ..resources import (
    CLASS_PLURAL,
    GROUP,
    PLURAL,
    VERSION,
    BucketAccessSpec,
    ClassSpec,
    ObservedStatus,
    RawBody,
)
from .kube import current_namespace, kube_api
from .subjects import observed_status


@dataclass(frozen=True, slots=True)
class Declared:
    body: RawBody
    subject: Subject

    @property
    def name(self) -> str:
        return self.subject.owner

    @property
    def status(self) -> ObservedStatus:
        return observed_status(self.body)


def _items(listing: Any) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], (listing or {}).get("items") or [])


def bodies(api: client.ApiClient, namespace: str | None, selector: str | None) -> list[RawBody]:
    """The BucketAccess objects of one namespace (``None``: every namespace) matching ``selector``."""
    objs = client.CustomObjectsApi(api)
    found: list[RawBody] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"limit": 500, "_continue": token, "label_selector": selector or ""}
        page = cast(
            dict[str, Any],
            objs.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, **kwargs)
            if namespace
            else objs.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kwargs),
        )
        found += cast(list[RawBody], _items(page))
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return found


def classes(api: client.ApiClient) -> dict[str, ClassSpec]:
    listing = client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, CLASS_PLURAL)
    return {c["metadata"]["name"]: ClassSpec.parse(c.get("spec") or {}) for c in _items(listing)}


def namespace_labels(api: client.ApiClient) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for ns in client.CoreV1Api(api).list_namespace().items:
        if ns.metadata is not None and ns.metadata.name:
            out[str(ns.metadata.name)] = dict(ns.metadata.labels or {})
    return out


def declared(
    api: client.ApiClient,
    namespace: str | None,
    selector: str | None,
    class_override: dict[str, ClassSpec] | None = None,
) -> list[Declared]:
    """Every object in scope as a Subject, with its class (or ``class_override``'s, by name)."""
    specs = {**classes(api), **(class_override or {})}
    labels = namespace_labels(api)
    out = []
    for body in bodies(api, namespace, selector):
        meta = body["metadata"]
        spec = BucketAccessSpec.parse(body.get("spec") or {})
        subject = Subject(
            namespace=meta["namespace"],
            name=meta["name"],
            spec=spec,
            class_spec=specs.get(spec.class_name),
            namespace_labels=labels.get(meta["namespace"]),
            uid=meta.get("uid", ""),
            created=str(meta.get("creationTimestamp") or ""),
            holds=observed_status(body).holds,
        )
        out.append(Declared(body, subject))
    return out


class ClusterUnreachable(Exception):
    """The objects could not be listed: no kubeconfig, the API server down, or forbidden."""


# what the client raises for each of those: an HTTP error answer, no usable kubeconfig, and (urllib3's
# own, not an OSError) a connection that could not be made after its retries
_UNREACHABLE = (ApiException, ConfigException, OSError, urllib3.exceptions.HTTPError)


def from_kubeconfig(
    namespace: str | None, all_namespaces: bool, selector: str | None, class_override: dict[str, ClassSpec]
) -> tuple[client.ApiClient, list[Declared]]:
    """The current kubeconfig's client and its declared uploads (kubectl's namespace rules)."""
    try:
        api = kube_api()
        scope = None if all_namespaces else (namespace or current_namespace())
        return api, declared(api, scope, selector, class_override)
    except _UNREACHABLE as exc:
        raise ClusterUnreachable(f"the cluster's BucketAccess objects could not be listed: {exc}") from None


def read_one(namespace: str | None, name: str) -> RawBody | None:
    """One BucketAccess through the current kubeconfig (``None``: it does not exist)."""
    from .kube import get_object

    try:
        return get_object(kube_api(), namespace or current_namespace(), name)
    except _UNREACHABLE as exc:
        raise ClusterUnreachable(f"BucketAccess {name} could not be read: {exc}") from None
