"""Impact at scale: N BucketAccess objects over 50 buckets and 200 roles (bench/scale.py's world) on a
real local control plane and moto, and `bucketaccess impact -A` for one changed bucket policy and for
one changed SCP.

Measured for each change: wall_s (the whole command, listing included), objects_evaluated (the index
keeps the others out), breaks, and aws_calls by operation (every AWS call the command makes, counted
on the reader it builds). The operator is not running: impact reads AWS itself, as a CI job would.

Usage: python bench/impact.py [--n 5000]; writes bench/results/impact.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "operator"))  # development tooling (operator/devenv)

from kubernetes.config import kube_config  # noqa: E402

from bench.report import publish  # noqa: E402
from bench.scale import BUCKETS, cluster, objects, populate, seed  # noqa: E402
from bucketaccess.aws import boto  # noqa: E402
from bucketaccess.cli import main as cli  # noqa: E402
from devenv.controlplane import ControlPlane  # noqa: E402
from devenv.moto_server import MotoServer  # noqa: E402
from devenv.org_world import OrgWorld, doc  # noqa: E402

CALLS: Counter[str] = Counter()


class CountingReader(boto.BotoReader):
    """The CLI's reader, counting every AWS call it makes (by service:operation)."""

    def call(self, client_: Any, operation: str, **kwargs: Any) -> Any:
        CALLS[f"{client_.meta.service_model.endpoint_prefix}:{operation}"] += 1
        return super().call(client_, operation, **kwargs)


def run(argv: list[str]) -> dict[str, Any]:
    CALLS.clear()
    out = io.StringIO()
    start = time.monotonic()
    with contextlib.redirect_stdout(out):
        code = cli(argv)
    wall = time.monotonic() - start
    if not out.getvalue().strip():
        raise SystemExit(f"impact exited {code} with no report")
    report = json.loads(out.getvalue())
    return {
        "exit_code": code,
        "wall_s": round(wall, 2),
        "objects_evaluated": report["evaluated"],
        "objects_untouched": report["unaffected"],
        "breaks": sum(1 for r in report["rows"] if r["effect"] == "breaks"),
        "aws_calls": sum(CALLS.values()),
        "aws_calls_by_operation": dict(sorted(CALLS.items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    boto.BotoReader = CountingReader  # type: ignore[misc]  # the CLI builds its reader from this name
    with ControlPlane(extra_apiserver_flags=["--max-requests-inflight=800"]) as cp, MotoServer() as moto:
        api = cluster(cp)
        world = OrgWorld(moto)
        seed(world)
        populate(api, objects(args.n, world.workloads))
        os.environ.update(world.operator_env())
        os.environ["KUBECONFIG"] = str(cp.kubeconfig)
        # the client reads KUBECONFIG when it is imported, which was before the control plane started
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(cp.kubeconfig)
        flags = world.operator_args()
        reader = [flags[0], flags[1], "--org-reader-role-arn", flags[-1]]
        workdir = Path(tempfile.mkdtemp(prefix="bucketaccess-impact-"))
        deny = workdir / "deny.json"
        deny.write_text(
            json.dumps(
                doc(
                    {
                        "Sid": "NoUploads",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:PutObject",
                        "Resource": "arn:aws:s3:::scale-bucket-07/*",
                    }
                )
            )
        )
        scp = workdir / "scp.json"
        scp.write_text(
            json.dumps(
                doc(
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"},
                )
            )
        )
        scp_name = "FullAWSAccess"  # Organizations' own SCP at the root, above every account of the world
        result = {
            "n": args.n,
            "buckets": BUCKETS,
            "bucket_policy": run(
                ["impact", "-A", *reader, "--bucket-policy", "scale-bucket-07", str(deny), "-o", "json"]
            ),
            "scp": run(["impact", "-A", *reader, "--scp", scp_name, str(scp), "-o", "json"]),
        }
    publish("impact", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
