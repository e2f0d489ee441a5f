"""Leader election's rules on a fake clock: who holds the lease when, and that nothing is written
without it. The Lease store here is a few lines of compare-and-swap on resourceVersion (what the
API server does); tests/e2e/test_leader_election.py runs the same code against the real one."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bucketaccess.k8s.leader import (
    Fence,
    FencedApiClient,
    HolderId,
    LeaderElector,
    LeaseTimings,
    NotLeader,
    WriteTarget,
)
from bucketaccess.reconcile import run_pass
from tests.unit.reconcile.test_pass import BUCKET, FOREIGN, World, subject, world

TIMINGS = LeaseTimings(lease_duration_s=15, renew_deadline_s=10, retry_period_s=2)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Leases:
    """One Lease, with the API server's optimistic concurrency: a replace must carry the
    resourceVersion it read, or it gets 409."""

    def __init__(self) -> None:
        self.lease: client.V1Lease | None = None
        self.version = 0

    def read_namespaced_lease(self, name: str, namespace: str) -> client.V1Lease:
        if self.lease is None:
            raise ApiException(status=404, reason="Not Found")
        return copy.deepcopy(self.lease)

    def create_namespaced_lease(self, namespace: str, body: client.V1Lease) -> client.V1Lease:
        if self.lease is not None:
            raise ApiException(status=409, reason="AlreadyExists")
        return self._store(body)

    def replace_namespaced_lease(self, name: str, namespace: str, body: client.V1Lease) -> client.V1Lease:
        assert self.lease is not None
        if body.metadata.resource_version != self.lease.metadata.resource_version:
            raise ApiException(status=409, reason="Conflict")
        return self._store(body)

    def _store(self, body: client.V1Lease) -> client.V1Lease:
        self.version += 1
        body = copy.deepcopy(body)
        body.metadata.resource_version = str(self.version)
        self.lease = body
        return copy.deepcopy(body)


def elector(store: Leases, clock: Clock, me: str) -> LeaderElector:
    e = LeaderElector(
        client.ApiClient(client.Configuration()), "ns", "lease", TIMINGS, me=HolderId(me), clock=clock
    )
    e.leases = store  # type: ignore[assignment]
    return e


def test_one_holder_and_a_takeover_only_after_the_lease_duration() -> None:
    store, clock = Leases(), Clock()
    a, b = elector(store, clock, "a"), elector(store, clock, "b")
    assert a.try_once() and a.holds()
    assert not b.try_once() and not b.holds()
    clock.now += 9  # a stops renewing (dead or paused); b has seen the lease unchanged for 9 s
    assert a.holds(), "within its renew deadline the holder still leads"
    assert not b.try_once()
    clock.now += 2  # 11 s after a's last renew: past its renew deadline, not yet past the lease
    assert not a.holds(), "past its renew deadline the holder no longer writes"
    assert not b.try_once(), "b waits the whole lease duration from when it saw the last renew"
    clock.now += 4.5  # 15.5 s after b first saw that renew
    assert b.try_once() and b.holds()
    assert store.lease is not None and store.lease.spec.holder_identity == "b"
    assert store.lease.spec.lease_transitions == 1
    # a wakes up: it finds b's renewed lease and does not take it back
    assert not a.try_once() and not a.holds()


def test_a_renewing_holder_keeps_the_lease() -> None:
    store, clock = Leases(), Clock()
    a, b = elector(store, clock, "a"), elector(store, clock, "b")
    a.try_once()
    for _ in range(20):
        clock.now += TIMINGS.retry_period_s
        assert a.try_once() and a.holds()
        assert not b.try_once()


def test_of_two_candidates_for_a_free_lease_one_wins() -> None:
    store, clock = Leases(), Clock()
    a, b = elector(store, clock, "a"), elector(store, clock, "b")
    a.try_once()
    a.release()  # a clean shutdown hands the lease over at once
    assert not a.holds()
    assert store.lease is not None and not store.lease.spec.holder_identity
    # both read the released lease; the second replace carries a stale resourceVersion
    lease_a = store.read_namespaced_lease("lease", "ns")
    b.try_once()
    lease_a.spec.holder_identity = "a"
    with pytest.raises(ApiException) as info:
        store.replace_namespaced_lease("lease", "ns", lease_a)
    assert info.value.status == 409
    assert b.holds() and store.lease.spec.holder_identity == "b"


def test_a_pass_that_loses_the_lease_before_its_write_writes_nothing() -> None:
    w: World = world(foreign=FOREIGN)
    before = w.aws.buckets[BUCKET].policy
    held = [True]
    refused: list[WriteTarget] = []
    w.aws.check_write = Fence(lambda: held[0], on_refused=refused.append).check_aws

    def paused_until_the_lease_ran_out(own: Any) -> None:
        held[0] = False  # e.g. SIGSTOP between planning and writing

    with pytest.raises(NotLeader):
        run_pass(subject(), lambda key: [], w.deps(), w.writes(), paused_until_the_lease_ran_out)
    assert w.aws.buckets[BUCKET].policy == before
    assert json.loads(before or "{}")["Statement"] == FOREIGN
    assert refused == [WriteTarget.AWS] and w.aws.writes == []


def test_the_same_pass_with_the_lease_writes_its_grant() -> None:
    w = world(foreign=FOREIGN)
    w.aws.check_write = Fence(lambda: True).check_aws
    run_pass(subject(), lambda key: [], w.deps(), w.writes(), lambda own: None)
    assert len(w.ours()) == 1


def test_kubernetes_writes_are_fenced_and_reads_are_not() -> None:
    config = client.Configuration()
    config.host = "http://127.0.0.1:9"  # nothing listens: a request that is sent fails to connect
    written: list[str] = []
    api = FencedApiClient(config, Fence(lambda: False), on_write=written.append)
    objs = client.CustomObjectsApi(api)
    with pytest.raises(NotLeader):
        objs.patch_namespaced_custom_object_status("g", "v1", "ns", "things", "x", {"status": {}})
    with pytest.raises(NotLeader):
        client.CoreV1Api(api).create_namespaced_event(
            "ns", client.CoreV1Event(metadata={}, involved_object={})
        )
    with pytest.raises(Exception) as info:
        objs.get_namespaced_custom_object("g", "v1", "ns", "things", "x")
    assert not isinstance(info.value, NotLeader)  # the read was sent (and failed to connect)
    assert written == []


class Server:
    """The API server's end of a FencedApiClient's connections (urllib3's one send of a request,
    stubbed): each attempt is recorded, the lease runs out while it is in flight, and it fails
    with ``error``, which urllib3 would retry."""

    def __init__(self, held: list[bool], error: Exception) -> None:
        self.held = held
        self.error = error
        self.attempts: list[str] = []

    def __call__(self, conn: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self.attempts.append(method)
        self.held[0] = False
        raise self.error


def fenced_client(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> tuple[FencedApiClient, Server, list[WriteTarget]]:
    config = client.Configuration()
    config.host = "http://127.0.0.1:9"  # never reached: the stub answers in its place
    held = [True]
    refused: list[WriteTarget] = []
    server = Server(held, error)
    # an instance, not a function, on the class: called without the pool
    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "_make_request", server)
    return FencedApiClient(config, Fence(lambda: held[0], on_refused=refused.append)), server, refused


CONNECT_FAILED = urllib3.exceptions.NewConnectionError(None, "connection refused")
NO_ANSWER = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError())
KUBE_WRITES: dict[str, tuple[str, Exception, Callable[[client.ApiClient], Any]]] = {
    # urllib3 re-sends a request whose connection failed, whatever its method...
    "status patch": (
        "PATCH",
        CONNECT_FAILED,
        lambda api: client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
            "g", "v1", "ns", "things", "x", {"status": {}}
        ),
    ),
    "event": (
        "POST",
        CONNECT_FAILED,
        lambda api: client.CoreV1Api(api).create_namespaced_event(
            "ns", client.CoreV1Event(metadata={}, involved_object={})
        ),
    ),
    # ... and a PUT or DELETE whose answer did not come
    "record replace": (
        "PUT",
        NO_ANSWER,
        lambda api: client.CoreV1Api(api).replace_namespaced_config_map(
            "record", "ns", client.V1ConfigMap(metadata={"name": "record"})
        ),
    ),
}


@pytest.mark.parametrize("write", list(KUBE_WRITES))
def test_a_kubernetes_write_is_one_attempt_and_the_next_one_is_fenced(
    write: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    method, error, send = KUBE_WRITES[write]
    api, server, refused = fenced_client(monkeypatch, error)
    # the attempt was sent while the lease was held; urllib3 does not send it again after the
    # lease ran out, it hands the failure back
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        send(api)
    assert server.attempts == [method]
    assert refused == []
    # the caller's own retry (a conflict, the next pass) is a new attempt: fenced
    with pytest.raises(NotLeader):
        send(api)
    assert server.attempts == [method]
    assert refused == [WriteTarget.KUBERNETES]


def test_a_kubernetes_read_keeps_urllib3s_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    api, server, refused = fenced_client(monkeypatch, CONNECT_FAILED)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        client.CustomObjectsApi(api).get_namespaced_custom_object("g", "v1", "ns", "things", "x")
    assert server.attempts == ["GET"] * 4  # the first and urllib3's three retries, unfenced
    assert refused == []


def test_unsafe_timings_are_named() -> None:
    assert TIMINGS.problem() is None
    bad = LeaseTimings(lease_duration_s=10, renew_deadline_s=10, retry_period_s=2)
    assert "renew deadline < lease duration" in (bad.problem() or "")


def test_the_elector_keeps_trying_when_the_api_server_does_not_answer() -> None:
    """A connection error is not an ApiException: the loop must survive it and lead once it can."""
    import asyncio

    store, clock = Leases(), Clock()
    e = elector(store, clock, "a")
    answers = [OSError("connection refused"), None]
    real = store.read_namespaced_lease

    def flaky(name: str, namespace: str) -> client.V1Lease:
        if answers and answers.pop(0) is not None:
            raise OSError("connection refused")
        return real(name, namespace)

    store.read_namespaced_lease = flaky  # type: ignore[method-assign]
    changes: list[bool] = []
    e.timings = LeaseTimings(lease_duration_s=0.3, renew_deadline_s=0.2, retry_period_s=0.01)

    async def main() -> None:
        task = asyncio.create_task(e.run(changes.append))
        for _ in range(500):  # bounded: at most 5 s of 10 ms periods
            if changes:
                break
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(main())
    assert changes == [True] and store.lease is not None and store.lease.spec.holder_identity == "a"
