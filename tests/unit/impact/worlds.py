"""Small scenarios for the impact tests: declared uploads on two buckets, a key, an organization."""

from __future__ import annotations

import copy
from typing import Any

ACCOUNT = "111122223333"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PUT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}
KMS_USE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}],
}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def deny_put(bucket: str, sid: str = "DenyAll") -> dict[str, Any]:
    return doc(
        {
            "Sid": sid,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    )


def upload(
    role: str, bucket: str, *, key: bool = False, scps: bool = False, policy: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A role (with s3:PutObject, and KMS use when ``key``) uploading to ``bucket``."""
    s: dict[str, Any] = {
        "request": {"principal": f"arn:aws:iam::{ACCOUNT}:role/{role}", "bucket": bucket, "prefix": "in/"},
        "identity": {"policies": [{"name": "put", "document": copy.deepcopy(PUT)}]},
        "bucket": {"account": ACCOUNT},
    }
    if policy is not None:
        s["bucket"]["policy"] = policy
    if key:
        s["identity"]["policies"].append({"name": "SharedKmsUse", "document": copy.deepcopy(KMS_USE)})
        s["bucket"]["encryption"] = {"algorithm": "aws:kms", "kmsKeyArn": KEY}
        s["kms"] = {
            "keys": {
                KEY: {
                    "policy": doc(
                        {
                            "Sid": "Root",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    )
                }
            }
        }
    if scps:
        s["organization"] = {
            "id": "o-exampleorgid",
            "managementAccount": "999988887777",
            "scps": [
                [{"name": "FullAWSAccess", "document": copy.deepcopy(ALLOW_ALL)}],
                [{"name": "Guardrails", "document": copy.deepcopy(ALLOW_ALL)}],
            ],
        }
    return s


def cluster() -> dict[str, list[dict[str, Any]]]:
    """Five declared uploads: two on 'shared', one with a key on 'secure', two in an organization."""
    return {
        "team-a/writer": [upload("writer-a", "shared")],
        "team-b/writer": [upload("writer-b", "shared")],
        "team-c/secure": [upload("secure-c", "secure", key=True)],
        "team-d/org": [upload("org-d", "orgbucket", scps=True)],
        "team-e/other": [upload("other-e", "other")],
    }
