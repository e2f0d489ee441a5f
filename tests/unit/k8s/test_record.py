"""The record of managed buckets and keys keeps the shard's tag, and where a shard whose record
predates tags still holds statements or grants under the untagged names."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bucketaccess.k8s.record import ManagedRecord


class ConfigMaps:
    """The one ConfigMap the record reads and writes, as the API server would keep it."""

    def __init__(self, data: dict[str, str] | None) -> None:
        self.data = data
        self.version = 1

    def read_namespaced_config_map(self, name: str, namespace: str) -> client.V1ConfigMap:
        if self.data is None:
            raise ApiException(status=404)
        meta = client.V1ObjectMeta(name=name, namespace=namespace, resource_version=str(self.version))
        return client.V1ConfigMap(metadata=meta, data=dict(self.data))

    def create_namespaced_config_map(self, namespace: str, body: client.V1ConfigMap) -> client.V1ConfigMap:
        return self._write(body)

    def replace_namespaced_config_map(self, name: str, namespace: str, body: client.V1ConfigMap) -> Any:
        return self._write(body)

    def _write(self, body: client.V1ConfigMap) -> client.V1ConfigMap:
        self.version += 1
        self.data = dict(body.data or {})
        meta = body.metadata or client.V1ObjectMeta()
        meta.resource_version = str(self.version)
        return client.V1ConfigMap(metadata=meta, data=body.data)


def loaded(
    monkeypatch: pytest.MonkeyPatch, data: dict[str, str] | None, tag: str
) -> tuple[ManagedRecord, ConfigMaps]:
    maps = ConfigMaps(data)
    monkeypatch.setattr(client, "CoreV1Api", lambda api: maps)
    rec = ManagedRecord(client.ApiClient(), "ops", "shard-a", tag)
    assert rec.load()
    return rec, maps


KEY = "arn:aws:kms:us-east-1:111122223333:key/k"
BEFORE_TAGS = {"buckets": "lake\nlogs", "keys": KEY}


def test_a_tagged_shard_takes_over_the_untagged_names_where_a_record_before_tags_says_it_wrote(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rec, maps = loaded(monkeypatch, BEFORE_TAGS, "0123ABCD")
    assert all(rec.adopts(r) for r in ("lake", "logs", KEY)) and not rec.adopts("other")
    rec.adopted("lake")
    assert not rec.adopts("lake") and rec.snapshot() == (["lake", "logs"], [KEY])
    assert maps.data == {
        "buckets": "lake\nlogs",
        "keys": KEY,
        "shardTag": "0123ABCD",
        "untagged": f"{KEY}\nlogs",
    }
    # read again (a restart): what is left to take over is what the record says, no more
    again, _ = loaded(monkeypatch, maps.data, "0123ABCD")
    assert not again.adopts("lake") and again.adopts("logs")
    again.drop(bucket="logs")
    assert not again.adopts("logs")


def test_the_default_shard_and_a_new_record_take_nothing_over(monkeypatch: pytest.MonkeyPatch) -> None:
    default, _ = loaded(monkeypatch, BEFORE_TAGS, "")
    assert not any(default.adopts(r) for r in ("lake", "logs", KEY))
    fresh, maps = loaded(monkeypatch, None, "0123ABCD")
    fresh.add(bucket="lake")
    assert not fresh.adopts("lake") and maps.data is not None and maps.data["shardTag"] == "0123ABCD"
