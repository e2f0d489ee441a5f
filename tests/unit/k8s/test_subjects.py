"""Store bodies as a pass sees them: peers carry what their own last pass found (parsed once by
``ObservedStatus``), and an object being deleted is no peer. No API server: every body here has
been confirmed by a watch event, so none is read again."""

from __future__ import annotations

from typing import Any, cast

from bucketaccess.aws.cache import TTLCache
from bucketaccess.aws.memory import MemoryAws
from bucketaccess.k8s import subjects
from bucketaccess.k8s.config import OperatorConfig
from bucketaccess.k8s.metrics import Metrics
from bucketaccess.k8s.runtime import Runtime
from bucketaccess.reconcile import WriteDeps
from bucketaccess.resources import RawBody

ROLE = "arn:aws:iam::111122223333:role/r"


def runtime() -> Runtime:
    aws = MemoryAws()
    return Runtime(
        config=OperatorConfig(),
        cache=TTLCache(0),
        metrics=Metrics(),
        reader=aws,
        writes=WriteDeps(writer=aws, cache=TTLCache(0)),
        api=cast(Any, None),  # never called: every body is confirmed by a watch
        record=cast(Any, None),
        classes={},
        namespaces={},
    )


def body(name: str, status: dict[str, Any] | None = None, **meta: Any) -> RawBody:
    raw: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"uid-{name}",
            "generation": 1,
            "resourceVersion": "1",
            "creationTimestamp": f"2026-12-06T10:00:0{len(name)}Z",
            **meta,
        },
        "spec": {"className": "c", "bucket": "b", "role": {"serviceAccountName": "sa"}},
    }
    if status is not None:
        raw["status"] = status
    return cast(RawBody, raw)


def test_peers_carry_their_own_last_verdict() -> None:
    rt = runtime()
    verified = {
        "observedGeneration": 1,
        "roleArn": ROLE,
        "conditions": [{"type": "Admitted", "status": "True", "reason": "Admitted"}],
        "managed": {"bucket": "b", "bucketPolicySid": "S1", "kmsKeyArn": "arn:k", "grantIds": ["g"]},
    }
    missing = {
        "observedGeneration": 1,
        "conditions": [
            {"type": "Admitted", "status": "True", "reason": "Admitted"},
            {"type": "IdentityPolicyAllows", "status": "False", "reason": "RoleNotFound"},
        ],
    }
    for raw in (body("a", verified), body("bb", missing), body("ccc"), body("dddd", deletionTimestamp="now")):
        rt.store.put(raw)
        rt.tracking.watch(raw["metadata"]["uid"])
    found = {p.name: p for p in subjects.peers(rt, "b", None)}
    assert sorted(found) == ["a", "bb", "ccc"]  # one being deleted is no peer
    a, bb, ccc = found["a"], found["bb"], found["ccc"]
    assert a.verified and a.holds and a.bucket_key and a.role_arn == ROLE and a.managed_key == "arn:k"
    assert not bb.verified and bb.role_missing and not bb.holds
    assert not ccc.verified and not ccc.role_missing and ccc.role_arn is None
    assert a.uid == "uid-a" and a.created == "2026-12-06T10:00:01Z"


def test_a_subject_knows_whether_it_holds_a_grant() -> None:
    held = body("a", {"managed": {"bucketPolicySid": "S1"}})
    assert subjects.subject(held, None).holds
    assert not subjects.subject(body("a"), runtime()).holds
