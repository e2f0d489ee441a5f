"""``bucketaccess check``: a live verdict from the AWS endpoint, and a snapshot that explains
offline to the identical verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bucketaccess.cli import ExitCode, main
from devenv.moto_server import MotoServer
from devenv.seed import Seeder

ACCOUNT = "123456789012"
PUT = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Put", "Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": "*"}
    ],
}


@pytest.fixture(scope="module")
def world(moto_env: MotoServer) -> dict[str, str]:
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NoPlainUploads",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::check-denied/*",
                "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}},
            }
        ],
    }
    seeded = Seeder(moto_env.url).seed(
        {
            "account": ACCOUNT,
            "roles": [{"name": "checker", "inline": {"put": PUT}}],
            "keys": [
                {
                    "ref": "k",
                    "policy": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                "Action": "kms:*",
                                "Resource": "*",
                            }
                        ],
                    },
                }
            ],
            "buckets": [
                {"name": "check-ok"},
                {"name": "check-denied", "policy": deny},
                {"name": "check-kms", "encryption": {"algorithm": "aws:kms", "key": "k"}},
            ],
        }
    )
    return {"role": seeded.roles["checker"], "key": seeded.keys["k"]}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    ("bucket", "extra", "decision", "failing"),
    [
        ("check-ok", [], "Allowed", []),
        ("check-ok", ["--acl", "bucket-owner-full-control"], "Allowed", []),
        ("check-denied", [], "ExplicitDeny", ["BucketPolicyAllows"]),
        ("check-kms", ["--multipart"], "ImplicitDeny", ["KMSKeyUsable"]),
    ],
)
def test_check_then_explain_the_snapshot_gives_the_same_verdict(
    world: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    bucket: str,
    extra: list[str],
    decision: str,
    failing: list[str],
) -> None:
    snap = tmp_path / "snapshot.json"
    code, out, err = run(
        capsys,
        "check",
        "--role",
        world["role"],
        "--bucket",
        bucket,
        "--prefix",
        "in/",
        *extra,
        "-o",
        "json",
        "--snapshot",
        str(snap),
    )
    assert err == ""
    live = json.loads(out)
    assert live["decision"] == decision
    assert [n for n, c in live["checks"].items() if c["status"] == "False"] == failing
    assert code == (ExitCode.Allowed if decision == "Allowed" else ExitCode.Denied)
    code2, out2, _ = run(capsys, "explain", str(snap), "-o", "json")
    assert (code2, json.loads(out2)) == (code, live)


def test_check_role_that_does_not_exist(world: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "check", "--role", f"arn:aws:iam::{ACCOUNT}:role/nobody", "--bucket", "check-ok", "-o", "json"
    )
    result = json.loads(out)
    assert (
        result["decision"] == "Rejected"
        and result["checks"]["IdentityPolicyAllows"]["reason"] == "RoleNotFound"
    )
    assert code == ExitCode.Denied


def test_check_bad_service_account_reference_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--service-account", "no-slash", "--bucket", "check-ok")
    assert (code, out) == (ExitCode.InvalidInput, "")
    assert "--service-account" in err and err.count("\n") == 1
