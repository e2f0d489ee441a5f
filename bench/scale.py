"""Scale: N BucketAccess objects on one operator, against a real local control plane and moto.

N objects over 50 buckets, 200 roles and 10 KMS keys (every fifth bucket encrypts with one).
Measured, for the shared cache (the default) and for a baseline with it off (--cache-ttl 0):

- first_verdict_s: from the bulk create until every object has a Ready condition;
- cycle_s: one full re-verification of all N (the operator restarted: every object resumes);
- aws_reads_per_cycle against distinct_aws_resources: how many times an AWS resource (a role, a
  bucket, a key, the organization, an account's public access block) was read, counted from the
  operator's /metrics by the one call each resource read makes once (GetRole, GetBucketPolicy,
  ...); aws_api_calls_per_cycle and aws_calls_by_operation give every call (a role read is four); apiserver_requests_per_cycle from kube-apiserver's own /metrics;
- peak_rss_mb of the operator (the higher of the two processes); idle_cpu_percent over a quiet
  minute after the cycle (at the default 5-minute interval nothing is due then: the next pass of
  each object comes one interval plus its phase later); cpu_s_per_pass over the cycle, and from
  it steady_cpu_percent, the CPU the operator needs when N objects re-verify every 5 minutes.

Usage: python bench/scale.py [--n 1000 5000]; writes bench/results/scale-N.json.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "operator"))  # development tooling (operator/devenv)

from kubernetes import client, watch  # noqa: E402
from tests.e2e.kube import GROUP, VERSION, api_client, ensure_namespace, install_crds  # noqa: E402
from tests.e2e.operator_proc import OperatorProcess  # noqa: E402

from bench.report import publish  # noqa: E402
from devenv.controlplane import ControlPlane, free_port  # noqa: E402
from devenv.moto_server import MotoServer  # noqa: E402
from devenv.org_world import OrgWorld, doc  # noqa: E402

BUCKETS, ROLES, KEYS = 50, 200, 10
NAMESPACES = 10
INTERVAL_S = 300  # the operator's default verifyInterval, which the benchmark keeps
SETTLE_S, IDLE_WINDOW_S = 15, 60
PUT = doc({"Effect": "Allow", "Action": ["s3:PutObject", "kms:GenerateDataKey"], "Resource": "*"})


def cluster(cp: ControlPlane) -> client.ApiClient:
    """The benchmark's cluster: the CRDs, its namespaces, and one class admitting everything there."""
    api = api_client(cp.kubeconfig)
    install_crds(api)
    for i in range(NAMESPACES):
        ensure_namespace(api, f"scale-{i}", {"bench": "scale"})
    client.CustomObjectsApi(api).create_cluster_custom_object(
        GROUP,
        VERSION,
        "bucketaccessclasses",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "BucketAccessClass",
            "metadata": {"name": "scale"},
            "spec": {
                "namespaceSelector": {"matchLabels": {"bench": "scale"}},
                "buckets": ["*"],
                "roles": ["arn:aws:iam::*:role/*"],
            },
        },
    )
    return api


def seed(world: OrgWorld, buckets: int = BUCKETS) -> int:
    """The roles, keys and buckets; every fifth bucket encrypts with a key of its own. Returns how
    many distinct AWS resources the objects' verdicts read."""
    w = world.workloads
    keys = [
        {
            "ref": f"k{k}",
            "policy": doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{w}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ),
        }
        for k in range(max(KEYS, (buckets + 4) // 5))
    ]
    seeded = [
        {
            "name": f"scale-bucket-{b:02d}",
            **({"encryption": {"algorithm": "aws:kms", "key": f"k{b // 5}"}} if b % 5 == 0 else {}),
        }
        for b in range(buckets)
    ]
    world.seed(
        {
            "roles": [{"name": f"scale-role-{r:03d}", "inline": {"put": PUT}} for r in range(ROLES)],
            "keys": keys,
            "buckets": seeded,
        }
    )
    encrypted = sum(1 for b in range(buckets) if b % 5 == 0)
    return buckets + ROLES + encrypted + 2  # + account public access block, organization


def objects(n: int, account: str, buckets: int = BUCKETS) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "BucketAccess",
            "metadata": {"name": f"ba-{i:05d}", "namespace": f"scale-{i % NAMESPACES}"},
            "spec": {
                "className": "scale",
                "bucket": f"scale-bucket-{i % buckets:02d}",
                "prefix": f"p{i}/",
                "role": {"arn": f"arn:aws:iam::{account}:role/scale-role-{i % ROLES:03d}"},
            },
        }
        for i in range(n)
    ]


def populate(api: client.ApiClient, docs: list[dict[str, Any]]) -> None:
    """Create the objects, 16 at a time."""
    objs = client.CustomObjectsApi(api)
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda d: objs.create_namespaced_custom_object(
                    GROUP, VERSION, d["metadata"]["namespace"], "bucketaccesses", d
                ),
                docs,
            )
        )


WRITES = (
    "PutBucketPolicy",
    "PutKeyPolicy",
    "CreateGrant",
    "RevokeGrant",
    "RetireGrant",
    "DeleteBucketPolicy",
)
# The call each resource read makes exactly once (a role read also lists and gets its policies,
# a bucket read also gets its ACL, encryption, ...).
ONE_PER_RESOURCE_READ = (
    "iam:GetRole",
    "s3:GetBucketPolicy",
    "kms:DescribeKey",
    "organizations:DescribeOrganization",
    "s3control:GetPublicAccessBlock",
    "ec2:DescribeVpcEndpoints",
    "sts:GetCallerIdentity",
)


def resource_reads(calls: dict[str, float]) -> int:
    return int(sum(calls.get(op, 0) for op in ONE_PER_RESOURCE_READ))


def ratio(result: dict[str, Any], field: str) -> float:
    return round(result["baseline"][field] / max(1, result[field]), 1)


def scrape(url: str, context: Any = None) -> str:
    with urllib.request.urlopen(url, timeout=30, context=context) as r:
        return str(r.read().decode())


def aws_calls(metrics: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for op, svc, value in re.findall(
        r'^bucketaccess_aws_calls_total\{operation="(\w+)",outcome="[^"]*",service="([\w-]+)"\} ([0-9.e+]+)$',
        metrics,
        re.M,
    ):
        out[f"{svc}:{op}"] = out.get(f"{svc}:{op}", 0) + float(value)
    return out


def apiserver_requests(cp: ControlPlane) -> float:
    text = scrape(f"{cp.url}/metrics", cp.ssl_context())
    return sum(float(v) for v in re.findall(r"^apiserver_request_total\{[^}]*\} ([0-9.e+]+)$", text, re.M))


def proc_stats(pid: int) -> tuple[float, float]:
    """(cpu seconds, peak RSS MB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = 100.0
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    hwm = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmHWM")
    )
    return cpu, hwm / 1024


def _has_verdict(item: dict[str, Any], since: str | None) -> bool:
    status = item.get("status") or {}
    has_verdict = any(c.get("type") == "Ready" for c in status.get("conditions") or [])
    return has_verdict and (since is None or (status.get("lastVerifiedTime") or "") > since)


def verdicts(api: client.ApiClient, since: str | None = None) -> int:
    """Objects with a Ready condition (and, with ``since``, verified after that time)."""
    items = client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, "bucketaccesses")["items"]
    return sum(_has_verdict(item, since) for item in items)


def wait_count(api: client.ApiClient, n: int, timeout: float, since: str | None = None) -> float:
    """Seconds until ``n`` objects have a verdict, followed on one watch: listing every object
    every second would cost the API server (and this process) more than the operator's own
    requests at 10,000 objects, on the same two cores."""
    start = time.monotonic()
    objs = client.CustomObjectsApi(api)
    listing = objs.list_cluster_custom_object(GROUP, VERSION, "bucketaccesses")
    done = {i["metadata"]["uid"] for i in listing["items"] if _has_verdict(i, since)}
    version = listing["metadata"]["resourceVersion"]
    while len(done) < n:
        left = timeout - (time.monotonic() - start)
        if left <= 0:
            raise TimeoutError(f"only {len(done)} of {n} objects got a verdict within {timeout:.0f}s")
        stream = watch.Watch().stream(
            objs.list_cluster_custom_object,
            GROUP,
            VERSION,
            "bucketaccesses",
            resource_version=version,
            timeout_seconds=max(1, int(min(left, 60))),
        )
        for event in stream:
            item = event["object"]
            version = item["metadata"]["resourceVersion"]
            if event["type"] != "DELETED" and _has_verdict(item, since):
                done.add(item["metadata"]["uid"])
                if len(done) >= n:
                    break
    return time.monotonic() - start


def apiserver_requests_by_kind(cp: ControlPlane) -> dict[str, float]:
    """kube-apiserver's requests by verb, resource and subresource (what a pass costs it)."""
    text = scrape(f"{cp.url}/metrics", cp.ssl_context())
    out: dict[str, float] = {}
    for labels, value in re.findall(r"^apiserver_request_total\{([^}]*)\} ([0-9.e+]+)$", text, re.M):
        fields = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        key = " ".join(
            x for x in (fields.get("verb"), fields.get("resource"), fields.get("subresource")) if x
        )
        out[key] = out.get(key, 0) + float(value)
    return out


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, int]:
    return {k: int(v - before.get(k, 0)) for k, v in sorted(after.items()) if v - before.get(k, 0) >= 1}


def run_mode(
    cp: ControlPlane, api: client.ApiClient, world: OrgWorld, n: int, cache_ttl: str, workdir: Path
) -> dict[str, Any]:
    metrics_port = free_port()
    args = [
        "--metrics-port",
        str(metrics_port),
        "--cache-ttl",
        cache_ttl,
        "--default-interval",
        "5m",
        *world.operator_args()[:2],
    ]
    args += ["--org-reader-role-arn", world.operator_args()[-1]]
    op = OperatorProcess(
        cp.kubeconfig, workdir / f"operator-{n}-{cache_ttl}.log", args, env=world.operator_env()
    ).start()
    assert op.proc is not None
    try:
        first_before = apiserver_requests_by_kind(cp)
        start = time.monotonic()
        populate(api, objects(n, world.workloads))
        created = time.monotonic() - start
        first = wait_count(api, n, 1800) + created
        _, first_rss = proc_stats(op.proc.pid)
        first_requests = delta(apiserver_requests_by_kind(cp), first_before)
    finally:
        op.stop()
    # one full re-verification: a fresh operator resumes every object
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))
    time.sleep(1.5)
    requests_before = apiserver_requests(cp)
    op = OperatorProcess(
        cp.kubeconfig, workdir / f"operator-{n}-{cache_ttl}-cycle.log", args, env=world.operator_env()
    ).start()
    assert op.proc is not None
    try:
        cycle = wait_count(api, n, 1800, since=stamp)
        metrics = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
        calls = aws_calls(metrics)
        misses = re.findall(r"^bucketaccess_cache_misses_total ([0-9.e+]+)$", metrics, re.M)
        requests = apiserver_requests(cp) - requests_before
        cycle_cpu, _ = proc_stats(op.proc.pid)
        time.sleep(SETTLE_S)  # the last status patches' watch events, Events posted
        cpu_before, _ = proc_stats(op.proc.pid)
        time.sleep(IDLE_WINDOW_S)  # nothing is due: what the operator costs at rest
        cpu_after, rss = proc_stats(op.proc.pid)
    finally:
        op.stop()
    reads = {k: v for k, v in calls.items() if not k.endswith(WRITES)}
    return {
        "first_verdict_s": round(first, 1),
        "create_s": round(created, 1),
        "cycle_s": round(cycle, 1),
        "aws_reads_per_cycle": resource_reads(reads),
        "aws_api_calls_per_cycle": int(sum(reads.values())),
        "cache_misses_per_cycle": int(float(misses[0]))
        if misses and cache_ttl != "0s"
        else None,  # cross-check
        "aws_calls_by_operation": {k: int(v) for k, v in sorted(reads.items())},
        "apiserver_requests_per_cycle": int(requests),
        "apiserver_requests_first_verdict": first_requests,
        "peak_rss_mb": round(max(rss, first_rss), 1),
        "peak_rss_mb_first_and_cycle": [round(first_rss, 1), round(rss, 1)],
        "cpu_s_cycle": round(cycle_cpu, 1),
        "cpu_s_per_pass": round(cycle_cpu / n, 4),
        "steady_cpu_percent": round(100 * cycle_cpu / INTERVAL_S, 1),
        "idle_cpu_percent": round(100 * (cpu_after - cpu_before) / IDLE_WINDOW_S, 1),
    }


def clear(api: client.ApiClient) -> None:
    """Delete every object; no operator runs now, so the finalizers are taken off by hand (the
    bench's objects hold nothing in AWS: their class only observes)."""
    objs = client.CustomObjectsApi(api)
    items = objs.list_cluster_custom_object(GROUP, VERSION, "bucketaccesses")["items"]
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda it: objs.patch_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    it["metadata"]["namespace"],
                    "bucketaccesses",
                    it["metadata"]["name"],
                    {"metadata": {"finalizers": None}},
                ),
                items,
            )
        )
    for i in range(NAMESPACES):
        objs.delete_collection_namespaced_custom_object(GROUP, VERSION, f"scale-{i}", "bucketaccesses")
    deadline = time.monotonic() + 600
    while (
        objs.list_cluster_custom_object(GROUP, VERSION, "bucketaccesses", limit=1)["items"]
        and time.monotonic() < deadline
    ):
        time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    workdir = Path("/tmp") / f"bucketaccess-scale-{int(time.time())}"
    workdir.mkdir(parents=True)
    with (
        ControlPlane(
            extra_apiserver_flags=["--max-requests-inflight=800", "--max-mutating-requests-inflight=400"]
        ) as cp,
        MotoServer() as moto,
    ):
        api = cluster(cp)
        world = OrgWorld(moto)
        distinct = seed(world)
        for n in args.n:
            result: dict[str, Any] = {
                "n": n,
                "distinct_aws_resources": distinct,
                **run_mode(cp, api, world, n, "20s", workdir),
            }
            clear(api)
            if not args.no_baseline:
                result["baseline"] = {
                    "cache": "off (--cache-ttl 0)",
                    **run_mode(cp, api, world, n, "0s", workdir),
                }
                clear(api)
                result["read_ratio_baseline_over_cached"] = ratio(result, "aws_reads_per_cycle")
                result["api_call_ratio_baseline_over_cached"] = ratio(result, "aws_api_calls_per_cycle")
            result["goals"] = {
                "first_verdict_s": 120,
                "aws_reads_per_cycle": round(1.1 * distinct),
                "peak_rss_mb": 400,
                "idle_cpu_percent": 5,
            }
            publish(f"scale-{n}", result)
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
