"""AWS calls grow with AWS resources, not with BucketAccess objects: 1,000 objects on 20 buckets
and 10 roles, verified concurrently, cost one read per resource per cache lifetime."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bucketaccess import reconcile
from bucketaccess.aws.boto import BotoReader
from bucketaccess.aws.cache import CachedReader, TTLCache
from bucketaccess.resources import BucketAccessSpec, ClassSpec
from devenv.moto_server import MotoServer
from devenv.seed import Seeder

ACCOUNT = "123456789012"  # the endpoint's default account for the dummy credentials
CLASS = {"namespaceSelector": {}, "buckets": ["*"], "roles": ["arn:aws:iam::*:role/*"]}
PUT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def hook(self, client: Any) -> None:
        def count(model: Any, **_: Any) -> None:
            self.calls[f"{client.meta.service_model.service_name}:{model.name}"] += 1

        client.meta.events.register("before-call.*.*", count)


@pytest.fixture(scope="module")
def world(moto_env: MotoServer) -> None:
    Seeder(moto_env.url).seed(
        {
            "account": ACCOUNT,
            "roles": [{"name": f"role-{r}", "inline": {"put": PUT}} for r in range(10)],
            "buckets": [{"name": f"bucket-{b:02d}"} for b in range(20)],
        }
    )


def subjects(n: int) -> list[reconcile.Subject]:
    return [
        reconcile.Subject(
            namespace="team",
            name=f"ba-{i}",
            spec=BucketAccessSpec.parse(
                {
                    "className": "c",
                    "bucket": f"bucket-{i % 20:02d}",
                    "prefix": f"p{i}/",
                    "role": {"arn": f"arn:aws:iam::{ACCOUNT}:role/role-{i % 10}"},
                }
            ),
            class_spec=ClassSpec.parse(CLASS),
            namespace_labels={},
        )
        for i in range(n)
    ]


def cycle(deps: reconcile.Deps, items: list[reconcile.Subject]) -> list[reconcile.Outcome]:
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda s: reconcile.verify(s, deps), items))


def _no_sa(namespace: str, name: str) -> str:
    raise AssertionError("no ServiceAccount in this test")


def test_reads_per_cycle_follow_resources_not_objects(
    world: None, capsys: pytest.CaptureFixture[str]
) -> None:
    counter = CallCounter()
    cache = TTLCache(ttl=3600)
    deps = reconcile.Deps(
        reader=CachedReader(BotoReader(on_client=counter.hook), cache), resolve_service_account=_no_sa
    )

    first = cycle(deps, subjects(1000))
    assert all(o.verified and o.ready.status == "True" for o in first), {o.ready.reason for o in first}
    resources = 20 + 10 + 2  # buckets, roles; the account's public access block, the organization
    assert cache.stats.misses == resources
    # each verification asks for its role, bucket, account public access block and organization
    assert cache.stats.hits + cache.stats.coalesced + cache.stats.misses == 1000 * 4

    # one full re-verification after the cache lifetime: the same reads, whatever the object count
    per_cycle = {}
    for n in (1000, 30):
        cache.clear()
        counter.calls.clear()
        cycle(deps, subjects(n))
        per_cycle[n] = dict(counter.calls)
    assert per_cycle[1000] == per_cycle[30]
    reads = sum(per_cycle[1000].values())
    with capsys.disabled():
        print(
            "\nAWS calls per cycle for 1000 objects on 20 buckets / 10 roles:",
            json.dumps({"total": reads, **per_cycle[1000]}),
        )
    # bucket: 6 calls, role: 3 calls (+1 per inline policy), plus account PAB and organization
    assert reads <= 20 * 6 + 10 * 4 + 2


def test_single_flight_coalesces_concurrent_identical_reads() -> None:
    import threading
    import time

    cache = TTLCache(ttl=60)
    started = threading.Event()
    calls = []

    def slow_load() -> str:
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return "value"

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get, ("bucket", "b"), slow_load) for _ in range(8)]
        results = [f.result() for f in futures]
    assert results == ["value"] * 8
    assert len(calls) == 1
    assert cache.stats.misses == 1 and cache.stats.coalesced + cache.stats.hits == 7


def test_unavailable_is_not_cached_but_not_found_is() -> None:
    from bucketaccess.aws.errors import AwsUnavailable, NotFound

    cache = TTLCache(ttl=60)
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise AwsUnavailable("down")
        return "up"

    with pytest.raises(AwsUnavailable):
        cache.get(("k",), flaky)
    assert cache.get(("k",), flaky) == "up"

    def missing() -> str:
        attempts.append(1)
        raise NotFound("bucket", "b")

    before = len(attempts)
    for _ in range(3):
        with pytest.raises(NotFound):
            cache.get(("missing",), missing)
    assert len(attempts) == before + 1


def test_ttl_expiry_reads_again() -> None:
    now = [0.0]
    cache = TTLCache(ttl=10, clock=lambda: now[0])
    loads = []
    cache.get(("k",), lambda: loads.append(1) or "a")
    now[0] = 5
    cache.get(("k",), lambda: loads.append(1) or "a")
    assert len(loads) == 1
    now[0] = 16
    cache.get(("k",), lambda: loads.append(1) or "a")
    assert len(loads) == 2


def test_a_periodic_pass_accepts_older_answers_and_a_changed_object_does_not() -> None:
    """max_age is per caller: one cache serves passes caused by a change (ttl) and periodic
    passes (their interval), so a resource is read about once per interval, not once per ttl."""
    now = [0.0]
    loads: list[float] = []

    class Inner:
        def bucket(self, name: str) -> str:
            loads.append(now[0])
            return f"info of {name}"

    shared = CachedReader(Inner(), TTLCache(ttl=20, clock=lambda: now[0]))  # type: ignore[arg-type]
    periodic = shared.within(300)
    assert periodic.bucket("b") == "info of b" and loads == [0.0]
    now[0] = 250  # past the ttl, within the interval
    periodic.bucket("b")
    assert loads == [0.0]
    shared.bucket("b")  # a pass caused by a change: within the ttl only
    assert loads == [0.0, 250.0]
    now[0] = 540  # the refreshed answer is 290 s old: still good for a periodic pass
    periodic.bucket("b")
    assert loads == [0.0, 250.0]
    now[0] = 560  # 310 s old: past the interval
    periodic.bucket("b")
    assert loads == [0.0, 250.0, 560.0]
