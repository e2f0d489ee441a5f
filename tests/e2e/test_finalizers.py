"""The operator's own cleanup finalizer against the real API server: a stale body never
overwrites someone else's finalizer, a deleted object refuses a new one, a gone one is released."""

from __future__ import annotations

import pytest
from kubernetes import client

from bucketaccess.k8s import finalizers
from tests.e2e.kube import GROUP, VERSION, create, ensure_namespace, get_ba, wait_for
from tests.e2e.test_store_listing import ba

pytestmark = pytest.mark.e2e
NS = "finalizers"


def test_a_stale_body_is_re_read_and_other_finalizers_are_kept(kube: client.ApiClient) -> None:
    ensure_namespace(kube, NS)
    stale = create(kube, ba("stale", NS))
    objs = client.CustomObjectsApi(kube)
    objs.patch_namespaced_custom_object(
        GROUP, VERSION, NS, "bucketaccesses", "stale", {"metadata": {"finalizers": ["example.com/theirs"]}}
    )
    now = finalizers.ensure(kube, stale)  # stale resourceVersion: 409, read again, add
    assert now is not None and now["metadata"]["finalizers"] == ["example.com/theirs", finalizers.FINALIZER]
    objs.patch_namespaced_custom_object(  # someone else moves the object on
        GROUP, VERSION, NS, "bucketaccesses", "stale", {"metadata": {"labels": {"touched": "yes"}}}
    )
    released = finalizers.release(kube, now)  # shows ours, but stale: 409, read again, remove
    assert released is not None and released["metadata"]["finalizers"] == ["example.com/theirs"]
    objs.delete_namespaced_custom_object(GROUP, VERSION, NS, "bucketaccesses", "stale")
    deleting = get_ba(kube, NS, "stale")
    assert deleting["metadata"].get("deletionTimestamp")
    with pytest.raises(finalizers.ObjectGoing, match="being deleted"):
        finalizers.ensure(kube, deleting)
    objs.patch_namespaced_custom_object(
        GROUP, VERSION, NS, "bucketaccesses", "stale", {"metadata": {"finalizers": None}}
    )
    wait_for(
        lambda: not objs.list_namespaced_custom_object(GROUP, VERSION, NS, "bucketaccesses")["items"],
        30,
        "the deletion",
    )
    ours = {**deleting, "metadata": {**deleting["metadata"], "finalizers": [finalizers.FINALIZER]}}
    assert finalizers.release(kube, ours) is None  # gone: 404, nothing to release
    with pytest.raises(finalizers.ObjectGoing, match="no longer exists"):
        finalizers.ensure(kube, stale)
