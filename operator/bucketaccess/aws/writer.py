"""The boto3 implementation of :class:`~.ports.AwsWriter`: only what reconciliation may change.

Bucket policies (put / delete), key policies (put, never with BypassPolicyLockoutSafetyCheck) and
KMS grants (create / revoke). Reads here are fresh, never from the cache: a write is always
merged into what AWS holds right now. Conflicts (OperationAborted) and throttling are retried
with backoff before they become errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..policy import Arn
from .boto import BotoReader
from .errors import AwsError, AwsUnavailable

RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0)


class BotoWriter:
    """Writes through the same clients (and error table) as the reader."""

    def __init__(self, reader: BotoReader, sleep: Callable[[float], None] = time.sleep) -> None:
        self.reader = reader
        self.sleep = sleep
        self.retries = 0  # conflicts and throttles retried, for the metrics and the fault tests

    def _retrying(self, fn: Callable[[], Any]) -> Any:
        for delay in (*RETRY_DELAYS_S, None):
            try:
                return fn()
            except AwsUnavailable as exc:
                if delay is None or not exc.retryable:
                    raise
                self.retries += 1
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _bucket(self, operation: str, bucket: str, **params: Any) -> Any:
        """One S3 call on ``bucket``, retried on conflicts; NoSuchBucket becomes NotFound."""
        s3 = self.reader.client("s3")
        return self._retrying(
            lambda: self.reader.call(s3, operation, kind="bucket", name=bucket, Bucket=bucket, **params)
        )

    def _key(self, operation: str, key_arn: str, **params: Any) -> Any:
        """One KMS call on ``key_arn`` in its region, retried on conflicts; a missing key becomes NotFound."""
        kms = self.reader.client("kms", Arn.parse(key_arn).region)
        return self._retrying(
            lambda: self.reader.call(kms, operation, kind="key", name=key_arn, KeyId=key_arn, **params)
        )

    def bucket_policy_text(self, bucket: str) -> str | None:
        found = self._bucket("GetBucketPolicy", bucket)
        return str(found["Policy"]) if found else None

    def put_bucket_policy(self, bucket: str, text: str) -> None:
        self._bucket("PutBucketPolicy", bucket, Policy=text)

    def delete_bucket_policy(self, bucket: str) -> None:
        self._bucket("DeleteBucketPolicy", bucket)

    def key_policy_text(self, key_arn: str) -> str | None:
        found = self._key("GetKeyPolicy", key_arn, PolicyName="default")
        return str(found["Policy"]) if found else None

    def put_key_policy(self, key_arn: str, text: str) -> None:
        # No BypassPolicyLockoutSafetyCheck, ever: AWS's own check stays in force.
        self._key("PutKeyPolicy", key_arn, PolicyName="default", Policy=text)

    def grants(self, key_arn: str) -> list[dict[str, Any]]:
        kms = self.reader.client("kms", Arn.parse(key_arn).region)
        return list(
            self._retrying(
                lambda: list(
                    self.reader.pages(kms, "ListGrants", "Grants", kind="key", name=key_arn, KeyId=key_arn)
                )
            )
        )

    def create_grant(
        self, key_arn: str, grantee: str, operations: list[str], name: str, constraints: dict[str, Any]
    ) -> str:
        made = self._key(
            "CreateGrant",
            key_arn,
            GranteePrincipal=grantee,
            Operations=operations,
            Name=name,
            Constraints=constraints,
        )
        if not made:
            raise AwsError(f"kms:CreateGrant on {key_arn} returned nothing", operation="kms:CreateGrant")
        return str(made["GrantId"])

    def revoke_grant(self, key_arn: str, grant_id: str) -> None:
        self._key("RevokeGrant", key_arn, GrantId=grant_id)
