"""Evaluation speed, and a comparison with principalmapper's local policy simulation.

Prints one JSON document (and writes it to bench/results/evaluate.json):
- explains per second in one process for (a) the seed article's explicit-deny scenario and (b) a
  large scenario (bucket policy near 20 KB, ten identity policies, key policy near 32 KB, three
  SCP levels), both for an already-loaded scenario and for load + explain from raw JSON;
- the same identity + resource-policy requests timed through principalmapper (if installed), the
  speed ratio, and every decision on which the two differ over the scenario corpus, each with
  the AWS documentation rule the corpus case pins;
- @cloud-copilot/iam-simulate (pinned, installed from npm into .cache/bench-peer, run by node) on the
  same inputs, seed and large: its rate, its decisions, and ours over its (goal: 10x on both).

Usage: python bench/evaluate.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.casecorpus import load_cases  # noqa: E402

from bench.report import publish  # noqa: E402
from bucketaccess.access import explain, load_scenario  # noqa: E402
from bucketaccess.policy import InvalidInput  # noqa: E402
from bucketaccess.policy.parse import clear_cache  # noqa: E402

NOW = datetime(2026, 11, 29, tzinfo=UTC)
V = "2012-10-17"
ACCT = "111122223333"
ROLE = f"arn:aws:iam::{ACCT}:role/app-uploader"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def seed_scenario() -> dict[str, Any]:
    """The article's cause 3, its own bucket policy: Deny PutObject unless the KMS key header matches."""
    return {
        "request": {"principal": ROLE, "bucket": "awsdoc-example-bucket", "key": "uploads/report.csv"},
        "identity": {
            "policies": [
                {
                    "name": "uploader",
                    "document": {
                        "Version": V,
                        "Statement": [
                            {
                                "Sid": "AllowPut",
                                "Effect": "Allow",
                                "Action": "s3:PutObject",
                                "Resource": "arn:aws:s3:::awsdoc-example-bucket/*",
                            }
                        ],
                    },
                }
            ]
        },
        "bucket": {
            "policy": {
                "Version": V,
                "Statement": [
                    {
                        "Sid": "ExampleStmt",
                        "Action": ["s3:PutObject"],
                        "Effect": "Deny",
                        "Resource": "arn:aws:s3:::awsdoc-example-bucket/*",
                        "Condition": {
                            "StringNotLikeIfExists": {
                                "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:111122223333:key/*"
                            }
                        },
                        "Principal": "*",
                    }
                ],
            }
        },
    }


def _fill(make: Any, limit: int) -> list[dict[str, Any]]:
    """Statements from ``make(i)`` until the policy document is just under ``limit`` bytes."""
    out: list[dict[str, Any]] = []
    i = 0
    while True:
        candidate = [*out, make(i)]
        if len(json.dumps({"Version": V, "Statement": candidate}, separators=(",", ":"))) > limit:
            return out
        out = candidate
        i += 1


def large_scenario() -> dict[str, Any]:
    bucket_statements = _fill(
        lambda i: {
            "Sid": f"Team{i:03d}Uploads",
            "Effect": "Allow" if i % 7 else "Deny",
            "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/team-{i:03d}-writer"},
            "Action": ["s3:PutObject", "s3:PutObjectAcl"] if i % 7 else "s3:DeleteObject",
            "Resource": f"arn:aws:s3:::shared-data-lake/team-{i:03d}/*",
            **(
                {"Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}
                if i % 3 == 0
                else {}
            ),
        },
        20 * 1024 - 200,
    )
    bucket_statements.append(
        {
            "Sid": "AppUploader",
            "Effect": "Allow",
            "Principal": {"AWS": ROLE},
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::shared-data-lake/app/*",
        }
    )
    key_statements = _fill(
        lambda i: {
            "Sid": f"KeyUser{i:03d}",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/team-{i:03d}-writer"},
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        },
        32 * 1024 - 600,
    )
    key_statements.append(
        {
            "Sid": "EnableIAM",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    identity = [
        {
            "name": f"policy-{p}",
            "document": {
                "Version": V,
                "Statement": [
                    {
                        "Sid": f"P{p}S{s}",
                        "Effect": "Allow",
                        "Action": [f"s3:Get{s}*", "s3:List*"]
                        if s
                        else ["s3:PutObject", "kms:GenerateDataKey", "kms:Decrypt"],
                        "Resource": [f"arn:aws:s3:::shared-data-lake/app/{p}/*", KEY]
                        if s == 0
                        else f"arn:aws:s3:::bucket-{p}-{s}/*",
                    }
                    for s in range(10)
                ],
            },
        }
        for p in range(10)
    ]
    scps = [
        [
            {
                "name": "FullAWSAccess",
                "document": {
                    "Version": V,
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                },
            }
        ],
        [
            {
                "name": "FullAWSAccess",
                "document": {
                    "Version": V,
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                },
            },
            {
                "name": "RegionFence",
                "document": {
                    "Version": V,
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "NotAction": ["iam:*", "organizations:*", "sts:*"],
                            "Resource": "*",
                            "Condition": {
                                "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}
                            },
                        }
                    ],
                },
            },
        ],
        [
            {
                "name": "FullAWSAccess",
                "document": {
                    "Version": V,
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                },
            },
            {
                "name": "ProtectLogs",
                "document": {
                    "Version": V,
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Action": ["s3:DeleteBucket", "s3:PutBucketPolicy"],
                            "Resource": "arn:aws:s3:::audit-*",
                        }
                    ],
                },
            },
        ],
    ]
    return {
        "request": {
            "principal": ROLE,
            "bucket": "shared-data-lake",
            "key": "app/3/batch.parquet",
            "multipart": True,
        },
        "identity": {"policies": identity},
        "bucket": {
            "policy": {"Version": V, "Statement": bucket_statements},
            "encryption": {"algorithm": "aws:kms", "kmsKeyArn": KEY},
        },
        "kms": {"keys": {KEY: {"policy": {"Version": V, "Statement": key_statements}}}},
        "organization": {"id": "o-exampleorgid", "managementAccount": "999988887777", "scps": scps},
    }


WINDOWS = 5  # each figure is the best of this many equal windows, ours and the peer's alike


def rate(fn: Any, seconds: float) -> float:
    """Calls per second: the best of WINDOWS windows of seconds / WINDOWS each (as timeit takes the
    fastest repeat: a window the shared machine disturbed says nothing about the code)."""
    for _ in range(50):  # warm caches and the interpreter's specializations
        fn()
    best = 0.0
    for _ in range(WINDOWS):
        n, start = 0, time.perf_counter()
        while True:
            for _ in range(100):
                fn()
            n += 100
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / WINDOWS:
                best = max(best, n / elapsed)
                break
    return best


def measure(raw: dict[str, Any], seconds: float) -> dict[str, Any]:
    sc = load_scenario(raw, NOW)
    result = explain(sc)
    return {
        "decision": str(result.decision),
        "requests": len(result.requests),
        "explains_per_s": round(rate(lambda: explain(sc), seconds)),
        "load_and_explain_per_s": round(rate(lambda: explain(load_scenario(raw, NOW)), seconds)),
        # every policy parsed afresh, as the peer does each round: the loader's cache of parsed
        # documents (by content) emptied before each call
        "load_and_explain_cold_per_s": round(rate(lambda: _cold(raw), seconds)),
    }


def _cold(raw: dict[str, Any]) -> None:
    clear_cache()
    explain(load_scenario(raw, NOW))


def sizes(raw: dict[str, Any]) -> dict[str, int]:
    out = {}
    if raw.get("bucket", {}).get("policy"):
        out["bucket_policy_bytes"] = len(json.dumps(raw["bucket"]["policy"], separators=(",", ":")))
    for arn, key in raw.get("kms", {}).get("keys", {}).items():
        out["key_policy_bytes"] = len(json.dumps(key["policy"], separators=(",", ":")))
        del arn
    out["identity_policies"] = len(raw.get("identity", {}).get("policies", []))
    out["scp_levels"] = len(raw.get("organization", {}).get("scps", []))
    return out


# ---------------------------------------------------------------- principalmapper comparison


def _subset(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The identity + resource-policy part of a scenario, or None when it needs more than that
    (KMS, ACL headers, boundaries, session policies, Organizations, endpoints, root users)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        return None
    req = raw["request"]
    if set(raw) - {"request", "identity", "bucket", "region"}:
        return None
    if set(raw.get("bucket", {})) - {"policy", "account"} or set(raw.get("identity", {})) - {
        "policies",
        "account",
    }:
        return None
    if set(req) - {"principal", "roleArn", "bucket", "key", "action", "context", "headers"}:
        return None
    headers = req.get("headers", {})
    if (
        any(h.startswith(("x-amz-acl", "x-amz-grant-")) for h in headers)
        or "x-amz-server-side-encryption-aws-kms-key-id" in headers
    ):
        return None
    if str(headers.get("x-amz-server-side-encryption", "")).startswith("aws:kms"):
        return None
    if not any(k in req.get("principal", "") for k in (":role/", ":user/", ":assumed-role/")):
        return None
    return raw


def _node_arn(req: dict[str, Any]) -> str:
    """principalmapper models roles and users, not sessions: a session is its role."""
    principal = req["principal"]
    if ":assumed-role/" in principal:
        account = principal.split(":")[4]
        return req.get("roleArn") or f"arn:aws:iam::{account}:role/{principal.split('/')[1]}"
    return principal


def _pmapper_decide(raw: dict[str, Any]) -> bool:
    from principalmapper.common.nodes import Node
    from principalmapper.common.policies import Policy
    from principalmapper.querying.query_interface import local_check_authorization_full

    req = raw["request"]
    principal = _node_arn(req)
    policies = [
        Policy(f"arn:aws:iam::{ACCT}:policy/{p['name']}", p["name"], p["document"])
        for p in raw.get("identity", {}).get("policies", [])
    ]
    is_role = ":role/" in principal
    node = Node(
        principal,
        "AROAEXAMPLE" if is_role else "AIDAEXAMPLE",
        policies,
        [],
        {"Version": V, "Statement": []} if is_role else None,
        None,
        0,
        False,
        False,
        None,
        False,
        {},
    )
    bucket = req["bucket"]
    resource = f"arn:aws:s3:::{bucket}/{req.get('key', 'probe-object')}"
    # the same keys our engine fills in, so that only the evaluation logic is compared
    account = principal.split(":")[4]
    context = {
        "aws:SecureTransport": "true",
        "aws:RequestedRegion": raw.get("region", "us-east-1"),
        "aws:PrincipalAccount": account,
        "aws:PrincipalArn": principal,
        "aws:PrincipalType": "AssumedRole" if is_role else "User",
        "aws:CurrentTime": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **{f"s3:{h}": v for h, v in req.get("headers", {}).items()},
        **req.get("context", {}),
    }
    current = datetime.fromisoformat(str(context["aws:CurrentTime"]).replace("Z", "+00:00"))
    context.setdefault("aws:EpochTime", str(int(current.timestamp())))
    policy = raw.get("bucket", {}).get("policy")
    owner = raw.get("bucket", {}).get("account", principal.split(":")[4])
    return bool(
        local_check_authorization_full(
            node, req.get("action", "s3:PutObject"), resource, context, policy, owner if policy else None
        )
    )


def compare_with_pmapper(seconds: float) -> dict[str, Any]:
    import collections
    import collections.abc

    # principalmapper 1.1.5 (its last release) imports Mapping from `collections`, which
    # Python 3.10 removed; give it the names it expects before it is imported.
    for name in ("Mapping", "MutableMapping"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    try:
        import principalmapper
    except ImportError:
        return {"available": False, "note": "pip install principalmapper (bench-only) to compare"}
    import logging

    logging.getLogger("principalmapper").setLevel(logging.ERROR)
    differences = []
    compared = 0
    for case in load_cases():
        raw = _subset(case.scenario)
        if raw is None or "error" in case.expect:
            continue
        try:
            ours = str(explain(load_scenario(raw, NOW)).decision) == "Allowed"
        except InvalidInput:
            continue
        try:
            theirs = _pmapper_decide(raw)
        except Exception as exc:
            differences.append(
                {
                    "case": case.id,
                    "bucketaccess": "Allowed" if ours else "Denied",
                    "principalmapper": f"error: {type(exc).__name__}: {exc}",
                    "follows_aws_documentation": "bucketaccess"
                    if (ours == (case.expect["decision"] == "Allowed"))
                    else "neither",
                    "aws_rule": case.why,
                }
            )
            compared += 1
            continue
        compared += 1
        if ours != theirs:
            differences.append(
                {
                    "case": case.id,
                    "bucketaccess": "Allowed" if ours else "Denied",
                    "principalmapper": "Allowed" if theirs else "Denied",
                    "follows_aws_documentation": "bucketaccess"
                    if (ours == (case.expect["decision"] == "Allowed"))
                    else "principalmapper",
                    "aws_rule": case.why,
                }
            )
    seed = seed_scenario()
    large = large_scenario()
    large_subset = {
        "request": {k: v for k, v in large["request"].items() if k != "multipart"},
        "identity": large["identity"],
        "bucket": {"policy": large["bucket"]["policy"]},
    }
    timings = {}
    for name, raw in (("seed", seed), ("large", large_subset)):
        sc = load_scenario(raw, NOW)
        ours = rate(lambda sc=sc: explain(sc), seconds)
        theirs = rate(lambda raw=raw: _pmapper_decide(raw), seconds)
        timings[name] = {
            "bucketaccess_per_s": round(ours),
            "principalmapper_per_s": round(theirs),
            "speed_ratio": round(ours / theirs, 2),
        }
    return {
        "available": True,
        "version": principalmapper.__version__,
        "cases_compared": compared,
        "timings": timings,
        "differences": differences,
    }


PEER = "@cloud-copilot/iam-simulate"
PEER_VERSION = "0.1.173"  # pinned: the figures compare with this release
PEER_DIR = ROOT / ".cache" / "bench-peer"


def _peer_installed() -> Path:
    """iam-simulate from npm, in a folder of its own (never the project's dependencies)."""
    installed = PEER_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate" / "package.json"
    if not installed.exists() or json.loads(installed.read_text()).get("version") != PEER_VERSION:
        PEER_DIR.mkdir(parents=True, exist_ok=True)
        (PEER_DIR / "package.json").write_text('{"private": true}\n')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", f"{PEER}@{PEER_VERSION}"],
            cwd=PEER_DIR,
            check=True,
            capture_output=True,
        )
    runner = PEER_DIR / "iam_simulate_rate.mjs"  # beside its node_modules, where ESM resolves it
    shutil.copyfile(ROOT / "bench" / "peer" / "iam_simulate_rate.mjs", runner)
    return runner


def peer_simulations(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Every request one of our explains evaluates, as iam-simulate simulations: the same identity
    policies, SCP levels and resource policy (the bucket's, or the key's), and the request context
    our engine fills in for it that the policies read."""
    result = explain(load_scenario(raw, NOW))
    request = raw["request"]
    obj = f"arn:aws:s3:::{request['bucket']}/{request.get('key', '')}"
    identity = [
        {"name": p["name"], "policy": p["document"]} for p in raw.get("identity", {}).get("policies", [])
    ]
    scps = [
        {
            "orgIdentifier": f"level-{i}",
            "policies": [{"name": p["name"], "policy": p["document"]} for p in level],
        }
        for i, level in enumerate((raw.get("organization") or {}).get("scps") or [])
    ]
    keys = (raw.get("kms") or {}).get("keys") or {}
    out = []
    for r in result.requests:
        context: dict[str, Any] = {"aws:RequestedRegion": "us-east-1"}
        if r.action.startswith("kms:"):
            policy = keys[r.resource]["policy"]
            context |= {
                "kms:ViaService": "s3.us-east-1.amazonaws.com",
                "kms:CallerAccount": ACCT,
                "kms:EncryptionContext:aws:s3:arn": obj,
            }
        else:
            policy = (raw.get("bucket") or {}).get("policy")
        simulation: dict[str, Any] = {
            "identityPolicies": identity,
            "serviceControlPolicies": scps,
            "resourceControlPolicies": [],
            "request": {
                "action": r.action,
                "principal": request["principal"],
                "resource": {"accountId": ACCT, "resource": r.resource},
                "contextVariables": context,
            },
        }
        if policy:
            simulation["resourcePolicy"] = policy
        out.append(simulation)
    return out


ALTERNATIONS = 2  # peer, ours, peer, ours: each side's best, so a slow spell of the machine hits both


def compare_with_iam_simulate(seconds: float, ours: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """iam-simulate on the same inputs: rounds per second (a round is every request of one of our
    explains), its decisions, and ours over its. The loaded-scenario figures of both sides are
    measured in alternation, ALTERNATIONS times each; the load + explain ratios use the figures
    measure() took."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return {"skipped": "node and npm are needed"}
    runner = _peer_installed()
    out: dict[str, Any] = {
        "peer": f"{PEER}@{PEER_VERSION}",
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip(),
    }
    for name, raw in (("seed_explicit_deny", seed_scenario()), ("large", large_scenario())):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"simulations": peer_simulations(raw)}, f)
        sc = load_scenario(raw, NOW)
        peer_best, ours_best, decisions = 0.0, 0.0, []
        for _ in range(ALTERNATIONS):
            done = subprocess.run(
                ["node", str(runner), f.name, str(seconds), str(WINDOWS)],
                capture_output=True,
                text=True,
                check=True,
            )
            peer = json.loads(done.stdout)
            peer_best, decisions = max(peer_best, peer["rounds_per_s"]), peer["decisions"]
            ours_best = max(ours_best, rate(lambda sc=sc: explain(sc), seconds))
        Path(f.name).unlink()
        mine = ours[name]
        out[name] = {
            "peer_rounds_per_s": round(peer_best),
            "peer_decisions": decisions,
            "ours_explains_per_s": round(ours_best),
            "ours_over_peer": round(ours_best / peer_best, 1),
            "ours_cold_over_peer": round(mine["load_and_explain_cold_per_s"] / peer_best, 1),
            "ours_load_and_explain_over_peer": round(mine["load_and_explain_per_s"] / peer_best, 1),
            "goal": ">= 10x",
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per figure")
    args = parser.parse_args()
    seed, large = seed_scenario(), large_scenario()
    report = {
        "benchmark": "evaluate",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "single_process": True,
        "seed_explicit_deny": {**measure(seed, args.seconds), "goal_per_s": 20000},
        "large": {**measure(large, args.seconds), **sizes(large), "goal_per_s": 1000},
        "principalmapper": compare_with_pmapper(args.seconds),
    }
    report["iam_simulate"] = compare_with_iam_simulate(
        args.seconds, {"seed_explicit_deny": report["seed_explicit_deny"], "large": report["large"]}
    )
    publish("evaluate", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
