"""The cleanup finalizer, owned by the operator rather than by Kopf.

It is put on an object right before the first AWS write made for it (an object that only
observes holds nothing in AWS, so its deletion needs no cleanup and costs no extra write), and
taken off once the cleanup has run. Both patches carry the resourceVersion they were computed
from, so a concurrent change to the finalizer list is never overwritten.
"""

from __future__ import annotations

from typing import cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..resources import GROUP, PLURAL, VERSION, RawBody, RawMeta

FINALIZER = "s3access.dev/cleanup"
ATTEMPTS = 5


class ObjectGoing(Exception):
    """The object is gone or being deleted: no write may be started for it."""


def _patch(api: client.ApiClient, meta: RawMeta, finalizers: list[str]) -> RawBody:
    patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
    return cast(
        RawBody,
        client.CustomObjectsApi(api).patch_namespaced_custom_object(
            GROUP, VERSION, meta["namespace"], PLURAL, meta["name"], patch
        ),
    )


def _read(api: client.ApiClient, meta: RawMeta) -> RawBody:
    return cast(
        RawBody,
        client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, meta["namespace"], PLURAL, meta["name"]
        ),
    )


def _change(api: client.ApiClient, body: RawBody, add: bool) -> RawBody | None:
    """Add or remove ours; returns the object as it now is, or None when it no longer exists."""
    current: RawBody = body
    for _ in range(ATTEMPTS):
        meta = current["metadata"]
        if add and meta.get("deletionTimestamp"):
            raise ObjectGoing(f"{meta['namespace']}/{meta['name']} is being deleted")
        have = list(meta.get("finalizers") or [])
        if (FINALIZER in have) == add:
            return current
        wanted = [*have, FINALIZER] if add else [f for f in have if f != FINALIZER]
        try:
            return _patch(api, meta, wanted)
        except ApiException as exc:
            if exc.status != 409:
                _gone(exc, meta, add)
                return None
        try:
            current = _read(api, meta)  # someone else changed it meanwhile: decide again on fresh data
        except ApiException as exc:
            _gone(exc, meta, add)
            return None
    raise RuntimeError(f"finalizer of {body['metadata']['name']}: {ATTEMPTS} conflicting updates in a row")


def _gone(exc: ApiException, meta: RawMeta, add: bool) -> None:
    """A 404 means the object is gone: nothing to release, and no write may start for it."""
    if exc.status != 404:
        raise exc
    if add:
        raise ObjectGoing(f"{meta['namespace']}/{meta['name']} no longer exists") from None


def ensure(api: client.ApiClient, body: RawBody) -> RawBody | None:
    return _change(api, body, add=True)


def release(api: client.ApiClient, body: RawBody) -> RawBody | None:
    return _change(api, body, add=False)
