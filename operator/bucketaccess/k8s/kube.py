"""The Kubernetes API client and the reads the operator makes of BucketAccess objects."""

from __future__ import annotations

import fnmatch
from typing import Any, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from ..resources import GROUP, PLURAL, VERSION, RawBody


def kube_config(pool: int = 4) -> client.Configuration:
    """In-cluster credentials when running in a pod, else the kubeconfig."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]
    configuration = client.Configuration.get_default_copy()
    # one connection per worker thread: past the pool size urllib3 opens (and TLS-handshakes)
    # a new connection for each request and drops it afterwards
    configuration.connection_pool_maxsize = pool
    return configuration


def current_namespace() -> str:
    """The namespace of the kubeconfig's current context, as kubectl takes it (``default``)."""
    try:
        _, context = config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        return "default"
    return str(((context or {}).get("context") or {}).get("namespace") or "default")


def kube_api(pool: int = 4) -> client.ApiClient:
    return client.ApiClient(kube_config(pool))


def list_objects(api: client.ApiClient, namespaces: tuple[str, ...], page_size: int = 500) -> list[RawBody]:
    """Every BucketAccess this process watches, read in pages."""
    objs = client.CustomObjectsApi(api)
    exact = [n for n in namespaces if not any(c in n for c in "*?[")]
    scopes: list[str | None] = list(exact) if namespaces and len(exact) == len(namespaces) else [None]
    items: list[RawBody] = []
    for ns in scopes:
        token = None
        while True:
            page = cast(
                dict[str, Any],
                objs.list_namespaced_custom_object(
                    GROUP, VERSION, ns, PLURAL, limit=page_size, _continue=token
                )
                if ns
                else objs.list_cluster_custom_object(
                    GROUP, VERSION, PLURAL, limit=page_size, _continue=token
                ),
            )
            items += page["items"]
            token = page["metadata"].get("continue")
            if not token:
                break
    if namespaces and scopes == [None]:  # glob patterns: keep what they match
        items = [i for i in items if any(fnmatch.fnmatch(i["metadata"]["namespace"], n) for n in namespaces)]
    return items


def get_object(api: client.ApiClient, namespace: str, name: str) -> RawBody | None:
    """The object as the API server has it now, or None when it does not exist."""
    try:
        found = cast(
            RawBody,
            client.CustomObjectsApi(api).get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name
            ),
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return found
