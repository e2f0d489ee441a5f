"""The operator's object store against the real API server: the start-up listing (names, globs,
pages) and the check that drops an object the listing saw but the watch never confirmed."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from bucketaccess.aws.cache import TTLCache
from bucketaccess.aws.memory import MemoryAws
from bucketaccess.k8s import subjects
from bucketaccess.k8s.config import OperatorConfig
from bucketaccess.k8s.kube import list_objects
from bucketaccess.k8s.metrics import Metrics
from bucketaccess.k8s.record import ManagedRecord
from bucketaccess.k8s.runtime import Runtime
from bucketaccess.reconcile import WriteDeps
from tests.e2e.kube import GROUP, VERSION, create, ensure_namespace
from tests.manifests import bucket_access

pytestmark = pytest.mark.e2e
NS_A, NS_B = "store-alpha", "store-beta"


def ba(name: str, ns: str, bucket: str = "store-bucket") -> dict[str, Any]:
    return bucket_access(name, ns, cls="none", bucket=bucket, role="arn:aws:iam::111122223333:role/r")


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
    assert names(list_objects(kube, (NS_A,))) == {
        f"{NS_A}/obj-0000",
        f"{NS_A}/obj-0001",
        f"{NS_A}/obj-0002",
    }
    assert names(list_objects(kube, ("store-*",))) == names(objects)
    assert names(list_objects(kube, (NS_A, NS_B), page_size=2)) == names(objects)  # in pages
    assert names(objects) <= names(list_objects(kube, ()))


def test_a_listed_object_gone_before_the_watch_is_dropped_from_peers(
    kube: client.ApiClient, objects: list[dict[str, Any]]
) -> None:
    aws = MemoryAws()
    rt = Runtime(
        config=OperatorConfig(),
        cache=TTLCache(0),
        metrics=Metrics(),
        reader=aws,
        writes=WriteDeps(writer=aws, cache=TTLCache(0)),
        api=kube,
        record=ManagedRecord(kube, "default", "unused"),
        classes={},
        namespaces={},
    )
    rt.store.preload(list_objects(kube, (NS_A,)))
    ghost = objects[0]
    client.CustomObjectsApi(kube).delete_namespaced_custom_object(
        GROUP, VERSION, NS_A, "bucketaccesses", ghost["metadata"]["name"]
    )
    confirmed_by_watch = objects[2]["metadata"]["uid"]
    rt.tracking.watch(confirmed_by_watch)
    peers = subjects.peers(rt, "store-bucket", None)
    assert {p.name for p in peers} == {"obj-0001", "obj-0002"}
    assert rt.store.get(ghost["metadata"]["uid"]) is None
    assert rt.store.get(objects[1]["metadata"]["uid"]) is not None
