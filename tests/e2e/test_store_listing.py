"""The operator's object store against the real API server: the start-up listing (names, globs,
pages) and the check that drops an object the listing saw but the watch never confirmed."""

from __future__ import annotations

from typing import Any

import kopf
import pytest
from kubernetes import client

from bucketaccess.k8s import handlers
from bucketaccess.k8s.store import ObjectStore
from tests.e2e.kube import GROUP, VERSION, create, ensure_namespace

pytestmark = pytest.mark.e2e
NS_A, NS_B = "store-alpha", "store-beta"


def ba(name: str, ns: str, bucket: str = "store-bucket") -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "BucketAccess",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"className": "none", "bucket": bucket, "role": {"arn": "arn:aws:iam::111122223333:role/r"}},
    }


@pytest.fixture(scope="module")
def objects(kube: client.ApiClient) -> list[dict[str, Any]]:
    ensure_namespace(kube, NS_A)
    ensure_namespace(kube, NS_B)
    made = [create(kube, ba(f"obj-{i:04d}", NS_A)) for i in range(3)]
    made.append(create(kube, ba("other", NS_B)))
    return made


def names(items: list[dict[str, Any]]) -> set[str]:
    return {f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items}


def test_the_listing_follows_the_namespaces_by_name_and_by_glob(
    kube: client.ApiClient, objects: list[dict[str, Any]]
) -> None:
    assert names(handlers.list_objects(kube, (NS_A,))) == {
        f"{NS_A}/obj-0000",
        f"{NS_A}/obj-0001",
        f"{NS_A}/obj-0002",
    }
    assert names(handlers.list_objects(kube, ("store-*",))) == names(objects)
    assert names(handlers.list_objects(kube, (NS_A, NS_B), page_size=2)) == names(objects)  # in pages
    assert names(objects) <= names(handlers.list_objects(kube, ()))


def test_a_listed_object_gone_before_the_watch_is_dropped_from_peers(
    kube: client.ApiClient, objects: list[dict[str, Any]]
) -> None:
    memo = kopf.Memo(api=kube, store=ObjectStore(), tracked=set())
    memo.store.preload(handlers.list_objects(kube, (NS_A,)))
    ghost = objects[0]
    client.CustomObjectsApi(kube).delete_namespaced_custom_object(
        GROUP, VERSION, NS_A, "bucketaccesses", ghost["metadata"]["name"]
    )
    confirmed_by_watch = objects[2]["metadata"]["uid"]
    memo.tracked.add(confirmed_by_watch)
    indexes: dict[str, Any] = {"class_index": {}, "namespace_index": {}}
    peers = handlers._peers(memo, "store-bucket", None, indexes)
    assert {p.name for p in peers} == {"obj-0001", "obj-0002"}
    assert memo.store.get(ghost["metadata"]["uid"]) is None
    assert memo.store.get(objects[1]["metadata"]["uid"]) is not None
