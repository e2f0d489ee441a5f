"""Evaluation speed, and a comparison with principalmapper's local policy simulation.

Prints one JSON document (and writes it to bench/results/evaluate.json):
- explains per second in one process for (a) the seed article's explicit-deny scenario and (b) a
  large scenario (bucket policy near 20 KB, ten identity policies, key policy near 32 KB, three
  SCP levels), both for an already-loaded scenario and for load + explain from raw JSON;
- the same identity + resource-policy requests timed through principalmapper (if installed), the
  speed ratio, and every decision on which the two differ over the scenario corpus, each with
  the AWS documentation rule the corpus case pins.

Usage: python bench/evaluate.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.casecorpus import load_cases  # noqa: E402

from bucketaccess.access import explain, load_scenario  # noqa: E402
from bucketaccess.policy import InvalidInput  # noqa: E402

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


def rate(fn: Any, seconds: float) -> float:
    for _ in range(50):  # warm caches and the interpreter's specializations
        fn()
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(100):
            fn()
        n += 100
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def measure(raw: dict[str, Any], seconds: float) -> dict[str, Any]:
    sc = load_scenario(raw, NOW)
    result = explain(sc)
    return {
        "decision": str(result.decision),
        "requests": len(result.requests),
        "explains_per_s": round(rate(lambda: explain(sc), seconds)),
        "load_and_explain_per_s": round(rate(lambda: explain(load_scenario(raw, NOW)), seconds)),
    }


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
    text = json.dumps(report, indent=2)
    out = ROOT / "bench" / "results" / "evaluate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
