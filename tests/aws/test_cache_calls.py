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
