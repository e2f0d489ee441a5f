"""Two operator processes behind one Lease on the real API server: only the holder verifies and
writes; SIGKILL of the holder hands over within the lease duration and every object is verified
again; a holder paused past its lease (SIGSTOP) writes nothing once resumed. Writes are counted
per process from its /metrics (bucketaccess_aws_writes_total, bucketaccess_kube_writes_total)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from devenv.controlplane import ControlPlane
from devenv.org_world import OrgWorld, doc, unique
from tests.e2e.kube import GROUP, VERSION, create, ensure_namespace, get_ba, wait_for
from tests.e2e.kube import wait_ready as kube_wait_ready
from tests.e2e.operator_proc import OperatorProcess, replica_args
from tests.manifests import access_class, bucket_access

pytestmark = pytest.mark.e2e
NS = "leader"
LEASE, RENEW, RETRY = 4.0, 3.0, 0.5
OBJECTS = ("a", "b", "c")
NO_PUT = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})


class Pair:
    def __init__(self, cp: ControlPlane, world: OrgWorld, folder: Path) -> None:
        self.cp, self.world, self.folder = cp, world, folder
        self.procs: list[OperatorProcess] = []

    def start(self, name: str) -> OperatorProcess:
        args = replica_args(NS, "leader-e2e", f"{LEASE:g}s", f"{RENEW:g}s", f"{RETRY * 1000:g}ms")
        # nothing periodic during the test: every pass is one the test caused
        args += [*self.world.operator_args(), "--default-interval", "1h"]
        proc = OperatorProcess(
            self.cp.kubeconfig, self.folder / f"{name}.log", args, env=self.world.operator_env()
        )
        self.procs.append(proc.start())
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.proc is not None and proc.proc.poll() is None:
                os.kill(proc.proc.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            proc.stop()


@pytest.fixture
def pair(
    control_plane: ControlPlane, org_world: OrgWorld, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    p = Pair(control_plane, org_world, tmp_path_factory.mktemp("leader"))
    try:
        yield p
    finally:
        p.stop()


def verified_since(kube: client.ApiClient, since: float) -> bool:
    """Every object verified (status written) at or after ``since`` (epoch seconds)."""
    for name in OBJECTS:
        stamp = (get_ba(kube, NS, name).get("status") or {}).get("lastVerifiedTime")
        if not stamp or dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() < int(since):
            return False
    return True


def test_failover_and_a_paused_leader_writes_nothing(
    kube: client.ApiClient, org_world: OrgWorld, pair: Pair
) -> None:
    ensure_namespace(kube, NS, {"leader-e2e": "yes"})
    create(kube, access_class("leader", namespace_labels={"leader-e2e": "yes"}, bucket_policy="Manage"))
    role, bucket = unique("leader"), unique("leader")
    org_world.seed({"roles": [{"name": role, "inline": {"read": NO_PUT}}], "buckets": [{"name": bucket}]})
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"

    first = pair.start("first")
    wait_for(lambda: first.leading(), LEASE * 3, "the first replica holds the lease")
    standby = pair.start("standby")
    for name in OBJECTS:
        create(kube, bucket_access(name, NS, cls="leader", bucket=bucket, role=arn, verifyInterval="1h"))
    for name in OBJECTS:
        # Ready because the holder granted the role in the bucket policy: AWS and status writes
        kube_wait_ready(kube, NS, name, "True")
    counted = first.metrics()
    assert counted["bucketaccess_aws_writes_total"] > 0 and counted["bucketaccess_kube_writes_total"] > 0
    assert not standby.leading() and standby.writes() == 0, "the standby wrote while the other held the lease"

    # SIGKILL the holder: the standby takes over within the lease duration (from its last renew)
    killed_at, killed_wall = time.monotonic(), time.time()
    assert first.proc is not None
    first.proc.kill()
    first.proc.wait(10)
    wait_for(lambda: standby.leading(), LEASE + RETRY + 2, "the standby to acquire the lease")
    takeover = time.monotonic() - killed_at
    wait_for(lambda: verified_since(kube, killed_wall), 30, "every object verified again by the new holder")
    assert takeover <= LEASE + RETRY + 2
    assert standby.metrics()["bucketaccess_leader_acquisitions_total"] == 1

    # SIGSTOP the new holder once it is idle (its passes done; nothing periodic is due for an hour)
    leader = standby
    wait_for(
        lambda: (
            (m := leader.metrics())["bucketaccess_passes_in_flight"] == 0
            and m["bucketaccess_verify_duration_seconds_count"] >= len(OBJECTS)
        ),
        30,
        "the holder idle",
    )
    successor = pair.start("successor")
    before = leader.writes()
    assert leader.proc is not None
    stopped_wall = time.time()
    os.kill(leader.proc.pid, signal.SIGSTOP)
    try:
        wait_for(
            lambda: successor.leading(), LEASE + RETRY + 5, "the successor to take over from a paused holder"
        )
        wait_for(lambda: verified_since(kube, stopped_wall), 30, "every object verified by the successor")
        # work the paused process will find when it wakes up: "verify now" on every object
        objs = client.CustomObjectsApi(kube)
        for name in OBJECTS:
            patch = {"metadata": {"annotations": {"s3access.dev/verify": str(time.time())}}}
            objs.patch_namespaced_custom_object(GROUP, VERSION, NS, "bucketaccesses", name, patch)
    finally:
        os.kill(leader.proc.pid, signal.SIGCONT)
    wait_for(
        lambda: leader.metrics().get("bucketaccess_standby_skips_total", 0) >= len(OBJECTS),
        30,
        "the resumed process to refuse the passes the annotations asked for",
    )
    assert not leader.leading()
    assert leader.writes() == before, "the paused holder wrote after it resumed without the lease"
    assert successor.leading()
