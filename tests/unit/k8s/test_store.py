"""The object store behind peers and scheduling: newest body wins, lookups follow changes."""

from __future__ import annotations

from typing import Any

from bucketaccess.k8s.store import ObjectStore


def body(uid: str, rv: str, bucket: str, key: str | None = None, **meta: Any) -> dict[str, Any]:
    status = {"managed": {"kmsKeyArn": key}} if key else {}
    return {
        "metadata": {
            "uid": uid,
            "name": uid,
            "namespace": "ns",
            "resourceVersion": rv,
            "managedFields": [{"manager": "kubectl"}],
            **meta,
        },
        "spec": {"bucket": bucket},
        "status": status,
    }


def names(bodies: list[dict[str, Any]]) -> list[str]:
    return sorted(b["metadata"]["uid"] for b in bodies)


def test_an_older_body_never_replaces_a_newer_one() -> None:
    s = ObjectStore()
    assert s.put(body("a", "20", "b1"))
    assert not s.put(body("a", "19", "b2"))
    got = s.get("a")
    assert got is not None and got["spec"]["bucket"] == "b1" and got["metadata"]["resourceVersion"] == "20"
    assert "managedFields" not in got["metadata"]
    assert names(s.on_bucket_or_key("b2", None)) == []


def test_lookups_follow_a_bucket_and_key_change_and_a_removal() -> None:
    s = ObjectStore()
    s.preload([body("a", "1", "b1"), body("b", "2", "b1", key="k1"), body("c", "3", "b2")])
    assert len(s) == 3
    assert names(s.on_bucket_or_key("b1", None)) == ["a", "b"]
    assert names(s.on_bucket_or_key("b2", "k1")) == ["b", "c"]
    s.put(body("b", "5", "b2"))  # moved bucket, no key any more
    assert names(s.on_bucket_or_key("b1", "k1")) == ["a"]
    assert names(s.on_bucket_or_key("b2", None)) == ["b", "c"]
    s.pop("c")
    assert names(s.on_bucket_or_key("b2", None)) == ["b"]
    assert s.get("c") is None and sorted(s.uids()) == ["a", "b"]
    assert s._by_bucket == {"b1": {"a"}, "b2": {"b"}} and s._by_key == {}


def test_an_opaque_resource_version_is_taken_as_newer() -> None:
    s = ObjectStore()
    s.put(body("a", "x1", "b1"))
    assert s.put(body("a", "x0", "b2"))
    assert names(s.on_bucket_or_key("b2", None)) == ["a"]
