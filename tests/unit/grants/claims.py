"""One builder of planner claims for the grants tests: keywords, with the fields a test does not
care about set to an admitted Manage request."""

from __future__ import annotations

from typing import Any

from bucketaccess.grants.plan import Claim
from bucketaccess.resources import BucketPolicyMode, KMSKeyUsersMode


def claim(**fields: Any) -> Claim:
    values: dict[str, Any] = {
        "owner": "ns/a",
        "role_arn": "arn:aws:iam::111122223333:role/r1",
        "bucket": "b",
        "prefix": "",
        "actions": frozenset({"s3:PutObject"}),
        "bucket_mode": "Observe",
        "kms_mode": "Observe",
        **fields,
    }
    values["bucket_mode"] = BucketPolicyMode(values["bucket_mode"])
    values["kms_mode"] = KMSKeyUsersMode(values["kms_mode"])
    return Claim(**values)
