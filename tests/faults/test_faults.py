"""The faults the operator meets in production, against the real control plane, moto and the
operator process, with a fault-injecting proxy between the operator and AWS."""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from bucketaccess.grants.plan import BUCKET_SID
from devenv.controlplane import ControlPlane
from devenv.org_world import OrgWorld, doc, unique
from tests.e2e.kube import GROUP, LAYERS, VERSION, condition, create, ensure_namespace, get_ba, wait_for
from tests.e2e.kube import wait_ready as kube_wait_ready
from tests.e2e.operator_proc import OperatorProcess
from tests.faults.proxy import FaultProxy
from tests.manifests import access_class, bucket_access
from tests.operator_entry import KILL_BEFORE_WRITE_ENV

pytestmark = pytest.mark.e2e
NS = "faults"
NO_PUT = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
FOREIGN = {
    "Sid": "Foreign",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:role/auditor"},
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::{bucket}/*",
}


@pytest.fixture(scope="module")
def proxy(org_world: OrgWorld) -> Iterator[FaultProxy]:
    p = FaultProxy(org_world.moto.url).start()
    yield p
    p.stop()


class Operator:
    """The operator process behind the proxy; restartable, as after a crash."""

    def __init__(
        self, cp: ControlPlane, org_world: OrgWorld, proxy: FaultProxy, logdir: Path, kill_marker: Path
    ) -> None:
        self.cp, self.org_world, self.proxy, self.logdir, self.kill_marker = (
            cp,
            org_world,
            proxy,
            logdir,
            kill_marker,
        )
        self.proc: OperatorProcess | None = None
        self.starts = 0

    def start(self) -> OperatorProcess:
        self.starts += 1
        env = {
            **self.org_world.operator_env(),
            "AWS_ENDPOINT_URL": self.proxy.url,
            KILL_BEFORE_WRITE_ENV: str(self.kill_marker),
        }
        args = ["--namespace", NS, *self.org_world.operator_args()]
        self.proc = OperatorProcess(
            self.cp.kubeconfig, self.logdir / f"operator-{self.starts}.log", args, env=env
        ).start()
        return self.proc

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


@pytest.fixture(scope="module")
def operator(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    proxy: FaultProxy,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Operator]:
    ensure_namespace(kube, NS, {"team": "faults"})
    create(
        kube,
        access_class("faults", namespace_labels={"team": "faults"}, bucket_policy="Manage"),
    )
    logdir = tmp_path_factory.mktemp("fault-operator")
    op = Operator(control_plane, org_world, proxy, logdir, logdir / "kill-before-write")
    op.start()
    yield op
    op.stop()


def ba(name: str, bucket: str, role: str) -> dict[str, Any]:
    return bucket_access(name, NS, cls="faults", bucket=bucket, prefix="in/", role=role)


def world(org_world: OrgWorld, n: int = 1) -> tuple[str, list[str], str]:
    """A bucket with one foreign statement and ``n`` roles without s3:PutObject."""
    bucket = unique("fault")
    roles = [unique("fault-role") for _ in range(n)]
    org_world.seed(
        {"roles": [{"name": r, "inline": {"read": NO_PUT}} for r in roles], "buckets": [{"name": bucket}]}
    )
    original = json.dumps(doc(json.loads(json.dumps(FOREIGN).replace("{bucket}", bucket))))
    org_world.client("s3").put_bucket_policy(Bucket=bucket, Policy=original)
    return bucket, [f"arn:aws:iam::{org_world.workloads}:role/{r}" for r in roles], original


def policy(org_world: OrgWorld, bucket: str) -> list[dict[str, Any]]:
    raw = json.loads(org_world.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    return [raw] if isinstance(raw, dict) else raw


def foreign_lost(org_world: OrgWorld, bucket: str, original: str) -> int:
    held = [json.dumps(s, sort_keys=True) for s in policy(org_world, bucket)]
    return sum(1 for s in json.loads(original)["Statement"] if json.dumps(s, sort_keys=True) not in held)


def managed(org_world: OrgWorld, bucket: str) -> list[dict[str, Any]]:
    return [s for s in policy(org_world, bucket) if BUCKET_SID.match(str(s.get("Sid", "")))]


def ready(kube: client.ApiClient, name: str, status: str, timeout: float = 60) -> dict[str, Any]:
    return kube_wait_ready(kube, NS, name, status, timeout)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    return fn(), time.monotonic() - start


def test_aws_down_for_60s(
    kube: client.ApiClient, operator: Operator, proxy: FaultProxy, org_world: OrgWorld, record: Any
) -> None:
    bucket, (role,), original = world(org_world)
    create(kube, ba("outage", bucket, role))
    ready(kube, "outage", "True")
    before = policy(org_world, bucket)
    proxy.set("down")
    try:
        obj = ready(kube, "outage", "Unknown", timeout=30)
        assert condition(obj, "Ready")["reason"] == "AWSUnavailable"  # type: ignore[index]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # never a guessed False while AWS is away
            statuses = {
                c["type"]: c["status"]
                for c in get_ba(kube, NS, "outage")["status"]["conditions"]
                if c["type"] in LAYERS
            }
            assert "False" not in statuses.values(), statuses
            assert (
                operator.proc is not None
                and operator.proc.proc is not None
                and operator.proc.proc.poll() is None
            )
            time.sleep(2)
        assert policy(org_world, bucket) == before  # nothing written
    finally:
        proxy.set("pass")
    _, recovered = timed(lambda: ready(kube, "outage", "True", timeout=30))
    record(
        "AWS unreachable for 60 s",
        "every layer Unknown/AWSUnavailable, no write, no crash",
        recovered,
        foreign_lost(org_world, bucket, original),
    )


def test_throttling_30_percent(
    kube: client.ApiClient, operator: Operator, proxy: FaultProxy, org_world: OrgWorld, record: Any
) -> None:
    bucket, roles, original = world(org_world, 5)
    throttled_before = proxy.counts["throttled"]
    proxy.set("throttle", 0.3)
    try:
        start = time.monotonic()
        for i, role in enumerate(roles):
            create(kube, ba(f"throttled-{i}", bucket, role))
        for i in range(len(roles)):
            ready(kube, f"throttled-{i}", "True", timeout=120)
        converged = time.monotonic() - start
    finally:
        proxy.set("pass")
    principals = managed(org_world, bucket)[0]["Principal"]["AWS"]
    assert sorted(principals) == sorted(roles)
    lost = foreign_lost(org_world, bucket, original)
    assert lost == 0
    record(
        f"30% throttled ({proxy.counts['throttled'] - throttled_before} throttle answers)",
        "retried (SDK backoff, writer backoff on OperationAborted), converged",
        converged,
        lost,
    )


def verified_at(kube: client.ApiClient, name: str) -> float:
    """The object's lastVerifiedTime (whole seconds, rounded down) as a Unix time."""
    stamp = get_ba(kube, NS, name)["status"]["lastVerifiedTime"]
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()


class GrantSampler:
    """The principals of each managed statement of a bucket, read over and over on a thread of its
    own while the test drives a fault: a grant that lapses between two waits of the test is seen,
    not only the state at the end."""

    def __init__(self, org_world: OrgWorld, bucket: str) -> None:
        self.org_world, self.bucket = org_world, bucket
        self.samples: list[list[frozenset[str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="grant-sampler", daemon=True)
        self._error: BaseException | None = None

    def __enter__(self) -> GrantSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        s3 = self.org_world.client("s3")
        try:
            while not self._stop.is_set():
                raw = json.loads(s3.get_bucket_policy(Bucket=self.bucket)["Policy"])["Statement"]
                ours = [
                    st
                    for st in ([raw] if isinstance(raw, dict) else raw)
                    if BUCKET_SID.match(str(st.get("Sid", "")))
                ]
                aws = [st["Principal"]["AWS"] for st in ours]
                self.samples.append([frozenset([a] if isinstance(a, str) else a) for a in aws])
                self._stop.wait(0.1)  # the sampling rate, not a wait for anything
        except BaseException as exc:  # handed to the test on exit
            self._error = exc


def test_api_server_restart(
    control_plane: ControlPlane, kube: client.ApiClient, operator: Operator, org_world: OrgWorld, record: Any
) -> None:
    bucket, roles, original = world(org_world, 2)
    create(kube, ba("before-restart", bucket, roles[0]))
    ready(kube, "before-restart", "True")
    with GrantSampler(org_world, bucket) as sampler:
        control_plane.stop_apiserver()
        time.sleep(3)  # the outage itself, not a wait for a condition
        start = time.monotonic()
        control_plane.start_apiserver()
        create(kube, ba("after-restart", bucket, roles[1]))
        ready(kube, "after-restart", "True", timeout=120)
        recovered = time.monotonic() - start
        # sampled on for a sweep interval (2 s here) past Ready, until a pass verifies it again
        until = time.time() + 2
        wait_for(lambda: verified_at(kube, "after-restart") >= until, 30, "a pass of after-restart 2 s on")
    granted = [frozenset().union(*sample) for sample in sampler.samples]
    assert granted and all(len(sample) == 1 for sample in sampler.samples)  # no duplicate statements
    # an AWS grant never lapses: not the one held through the restart, nor the new one once made
    assert all(roles[0] in g for g in granted), granted
    joined = next(i for i, g in enumerate(granted) if roles[1] in g)
    assert all(roles[1] in g for g in granted[joined:]), granted
    ours = managed(org_world, bucket)
    assert len(ours) == 1 and sorted(ours[0]["Principal"]["AWS"]) == sorted(roles)
    lost = foreign_lost(org_world, bucket, original)
    record("kube-apiserver restarted", "watches reconnected, handlers resumed", recovered, lost)


def test_crash_between_read_and_write(
    kube: client.ApiClient, operator: Operator, org_world: OrgWorld, record: Any
) -> None:
    bucket, (role,), original = world(org_world)
    operator.kill_marker.touch()
    create(kube, ba("crash", bucket, role))
    assert operator.proc is not None and operator.proc.proc is not None
    wait_for(lambda: operator.proc.proc.poll() is not None, 60, "the operator to die in the fault hook")  # type: ignore[union-attr]
    assert operator.proc.proc.returncode == -signal.SIGKILL
    assert not managed(org_world, bucket)  # it died before writing
    start = time.monotonic()
    operator.start()
    ready(kube, "crash", "True")
    recovered = time.monotonic() - start
    expected = [json.loads(original)["Statement"][0]]
    ours = managed(org_world, bucket)
    assert [s for s in policy(org_world, bucket) if s not in ours] == expected
    assert len(ours) == 1 and ours[0]["Principal"] == {"AWS": role}
    record(
        "SIGKILL between reading and writing a bucket policy",
        "restarted, merged again from a fresh read",
        recovered,
        foreign_lost(org_world, bucket, original),
    )


def test_concurrent_editor(
    kube: client.ApiClient, operator: Operator, org_world: OrgWorld, record: Any
) -> None:
    bucket, (role,), original = world(org_world)
    create(kube, ba("edited", bucket, role))
    ready(kube, "edited", "True")
    s3 = org_world.client("s3")
    ours = managed(org_world, bucket)[0]
    # a foreign statement added by another tool survives the next passes
    added = {
        "Sid": "AddedByTerraform",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{org_world.workloads}:role/ci"},
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc(*policy(org_world, bucket), added)))
    first = get_ba(kube, NS, "edited")["status"]["lastVerifiedTime"]
    wait_for(lambda: get_ba(kube, NS, "edited")["status"]["lastVerifiedTime"] != first, 30, "another pass")
    assert added in policy(org_world, bucket) and ours in policy(org_world, bucket)
    # ours removed by someone else: restored
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps(doc(*[s for s in policy(org_world, bucket) if s != ours]))
    )
    _, restored = timed(
        lambda: wait_for(lambda: ours in policy(org_world, bucket), 30, "our statement restored")
    )
    # ours edited by someone else: put back, with an Event saying so
    tampered = dict(ours, Principal={"AWS": [role, f"arn:aws:iam::{org_world.workloads}:role/intruder"]})
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(doc(*[tampered if s == ours else s for s in policy(org_world, bucket)])),
    )
    wait_for(lambda: ours in policy(org_world, bucket), 30, "our statement put back")
    events = wait_for(
        lambda: [
            e
            for e in client.CoreV1Api(kube)
            .list_namespaced_event(NS, field_selector="involvedObject.name=edited")
            .items
            if e.reason == "RestoredManagedStatement"
        ],
        30,
        "the RestoredManagedStatement event",
    )
    assert ours["Sid"] in events[0].message
    assert added in policy(org_world, bucket)
    record(
        "a concurrent editor adds, removes and edits statements",
        "kept theirs, restored ours, Event on the edit",
        restored,
        foreign_lost(org_world, bucket, original),
    )


def test_deletion_while_aws_is_down(
    kube: client.ApiClient, operator: Operator, proxy: FaultProxy, org_world: OrgWorld, record: Any
) -> None:
    objs = client.CustomObjectsApi(kube)
    bucket, roles, original = world(org_world, 2)
    create(kube, ba("doomed", bucket, roles[0]))
    create(kube, ba("released", bucket, roles[1]))
    ready(kube, "doomed", "True")
    ready(kube, "released", "True")

    def exists(name: str) -> bool:
        return bool(
            objs.list_namespaced_custom_object(
                GROUP, VERSION, NS, "bucketaccesses", field_selector=f"metadata.name={name}"
            )["items"]
        )

    proxy.set("down")
    try:
        objs.delete_namespaced_custom_object(GROUP, VERSION, NS, "bucketaccesses", "doomed")
        time.sleep(5)  # the outage lasts; the finalizer must hold the object meanwhile
        assert exists("doomed")
        # an administrator lets one go for good, without waiting for AWS
        objs.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            NS,
            "bucketaccesses",
            "released",
            {"metadata": {"annotations": {"s3access.dev/skip-cleanup": "true"}}},
        )
        objs.delete_namespaced_custom_object(GROUP, VERSION, NS, "bucketaccesses", "released")
        wait_for(lambda: not exists("released"), 30, "the skip-cleanup deletion")
    finally:
        proxy.set("pass")
    _, recovered = timed(
        lambda: wait_for(lambda: not exists("doomed"), 60, "the finalizer to complete once AWS is back")
    )
    principals = {
        p
        for s in managed(org_world, bucket)
        for p in (
            [s["Principal"]["AWS"]] if isinstance(s["Principal"]["AWS"], str) else s["Principal"]["AWS"]
        )
    }
    # the cleanup took doomed's principal away; released's went with that same rewrite, since no
    # object asks for it any more (skip-cleanup skips the AWS call, not the level-triggered plan)
    assert roles[0] not in principals
    record(
        "deletion while AWS is down",
        "finalizer retried with backoff; skip-cleanup released one at once",
        recovered,
        foreign_lost(org_world, bucket, original),
    )


def test_many_writers_on_one_object(
    kube: client.ApiClient, operator: Operator, org_world: OrgWorld, record: Any
) -> None:
    bucket, (role,), original = world(org_world)
    create(kube, ba("busy", bucket, role))
    ready(kube, "busy", "True")
    objs = client.CustomObjectsApi(kube)

    def touch(i: int) -> None:
        objs.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            NS,
            "bucketaccesses",
            "busy",
            {"metadata": {"labels": {f"writer-{i}": "yes"}}, "spec": {"verifyInterval": f"{30 + i}s"}},
        )

    start = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(touch, range(20)))

    def settled() -> dict[str, Any] | None:
        obj = get_ba(kube, NS, "busy")
        status = obj.get("status") or {}
        return obj if status.get("observedGeneration") == obj["metadata"]["generation"] else None

    obj = wait_for(settled, 60, "status for the last generation")
    recovered = time.monotonic() - start
    assert {"observedGeneration", "conditions", "decision", "roleArn", "lastVerifiedTime", "managed"} <= set(
        obj["status"]
    )
    assert len(obj["metadata"]["labels"]) >= 20
    assert {c["type"] for c in obj["status"]["conditions"]} >= {"Ready", "Admitted", "Reconciled", *LAYERS}
    record(
        "20 concurrent updates of one object",
        "status for the last generation, no field lost",
        recovered,
        foreign_lost(org_world, bucket, original),
    )
