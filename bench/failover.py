"""Failover: two operator replicas behind one Lease, the holder SIGKILLed five times.

Against a real local control plane and moto, with N objects (a Manage class: the holder grants
each role in the bucket policy). Each round kills the replica holding the lease and measures,
from the kill:
- takeover_s: until the other replica reports bucketaccess_leader 1 on its /metrics;
- reverified_s: until every object's status.lastVerifiedTime is at or after the kill (the new
  holder verified them all again), and how many were;
- standby_writes: AWS + Kubernetes writes the other replica made while it stood by (its
  bucketaccess_aws_writes_total + bucketaccess_kube_writes_total before the kill; must be 0).
Then a new replica is started as the standby for the next round.

Lease timings are the operator's defaults (15s lease, 10s renew deadline, 2s retry) unless
--lease-duration/--renew-deadline/--retry-period say otherwise.

Usage: python bench/failover.py [--rounds 5] [--n 20]; writes bench/results/failover.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "operator"))  # development tooling (operator/devenv)

from kubernetes import client  # noqa: E402
from tests.e2e.kube import GROUP, VERSION, api_client, ensure_namespace, install_crds, wait_for  # noqa: E402
from tests.e2e.operator_proc import OperatorProcess, replica_args  # noqa: E402
from tests.manifests import access_class, bucket_access  # noqa: E402

from bench.report import publish  # noqa: E402
from devenv.controlplane import ControlPlane  # noqa: E402
from devenv.moto_server import MotoServer  # noqa: E402
from devenv.org_world import OrgWorld, doc, unique  # noqa: E402

NS = "failover"
NO_PUT = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})


def verified_since(objs: client.CustomObjectsApi, n: int, since: float) -> int:
    """How many objects were verified at or after ``since`` (lastVerifiedTime has whole seconds)."""
    items = objs.list_namespaced_custom_object(GROUP, VERSION, NS, "bucketaccesses")["items"]
    count = 0
    for item in items:
        stamp = (item.get("status") or {}).get("lastVerifiedTime")
        if stamp and dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() >= int(since):
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--lease-duration", default="15s")
    parser.add_argument("--renew-deadline", default="10s")
    parser.add_argument("--retry-period", default="2s")
    args = parser.parse_args()
    workdir = Path("/tmp") / f"bucketaccess-failover-{int(time.time())}"
    workdir.mkdir(parents=True)
    rounds: list[dict[str, Any]] = []
    procs: list[OperatorProcess] = []
    with ControlPlane() as cp, MotoServer() as moto:
        api = api_client(cp.kubeconfig)
        install_crds(api)
        ensure_namespace(api, NS, {"bench": "failover"})
        objs = client.CustomObjectsApi(api)
        objs.create_cluster_custom_object(
            GROUP,
            VERSION,
            "bucketaccessclasses",
            access_class("failover", namespace_labels={"bench": "failover"}, bucket_policy="Manage"),
        )
        world = OrgWorld(moto)
        role, bucket = unique("failover"), unique("failover")
        world.seed({"roles": [{"name": role, "inline": {"read": NO_PUT}}], "buckets": [{"name": bucket}]})
        arn = f"arn:aws:iam::{world.workloads}:role/{role}"

        def replica(name: str) -> OperatorProcess:
            flags = replica_args(NS, "failover", args.lease_duration, args.renew_deadline, args.retry_period)
            flags += [*world.operator_args(), "--default-interval", "1h"]
            proc = OperatorProcess(cp.kubeconfig, workdir / f"{name}.log", flags, env=world.operator_env())
            procs.append(proc.start())
            return proc

        try:
            live = [replica("r0")]
            wait_for(lambda: live[0].leading(), 60, "the first replica to lead")
            live.append(replica("r1"))
            for i in range(args.n):
                objs.create_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    NS,
                    "bucketaccesses",
                    bucket_access(f"o{i}", NS, cls="failover", bucket=bucket, role=arn, verifyInterval="1h"),
                )
            wait_for(lambda: verified_since(objs, args.n, 0) == args.n, 120, "every object verified")
            for r in range(args.rounds):
                holder = next(p for p in live if p.leading())
                standby = next(p for p in live if p is not holder)
                standby_writes = standby.writes()
                killed, killed_wall = time.monotonic(), time.time()
                assert holder.proc is not None
                holder.proc.kill()
                holder.proc.wait(10)
                wait_for(standby.leading, 120, "the standby to take over")
                takeover = time.monotonic() - killed
                wait_for(
                    lambda since=killed_wall: verified_since(objs, args.n, since) == args.n,
                    120,
                    "re-verification",
                )
                rounds.append(
                    {
                        "takeover_s": round(takeover, 2),
                        "reverified_s": round(time.monotonic() - killed, 2),
                        "objects_reverified": verified_since(objs, args.n, killed_wall),
                        "standby_writes": standby_writes,
                    }
                )
                print(json.dumps({"round": r + 1, **rounds[-1]}), file=sys.stderr, flush=True)
                live = [standby, replica(f"r{r + 2}")]
        finally:
            for proc in procs:
                proc.stop()
    result = {
        "benchmark": "failover",
        "objects": args.n,
        "lease": {
            "duration": args.lease_duration,
            "renew_deadline": args.renew_deadline,
            "retry": args.retry_period,
        },
        "rounds": rounds,
        "takeover_s_median": statistics.median(r["takeover_s"] for r in rounds),
        "reverified_s_median": statistics.median(r["reverified_s"] for r in rounds),
        "standby_writes_total": sum(r["standby_writes"] for r in rounds),
    }
    publish("failover", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
