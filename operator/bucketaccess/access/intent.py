"""What one BucketAccess asks, once its role is resolved, and the scenario requests it implies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ..policy.records import fast_init
from ..resources import BucketAccessSpec
from .scenario import SessionSource

PROBE_OBJECT = "bucketaccess-probe"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionIntent:
    """How the workload obtains its role, as the snapshot needs it to write ``session``."""

    source: SessionSource
    namespace: str
    service_account: str
    role_arn: str  # the role the annotation or the association names
    target_role_arn: str | None = None
    external_id: str | None = None
    session_tags: bool = False
    session_policy: dict[str, Any] | None = None
    association_id: str | None = None
    cluster_arn: str | None = None
    oidc_issuer: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class UploadIntent:
    role_arn: str
    bucket: str
    prefix: str = ""
    acl: str | None = None
    sse: str | None = None  # "aws:kms" | "AES256" | None: rely on the bucket default
    kms_key: str | None = None
    multipart: bool = False
    actions: tuple[str, ...] = ()  # extra object actions the role must have
    vpc_endpoint: str | None = None
    session: SessionIntent | None = None
    bucket_key: bool | None = None  # x-amz-server-side-encryption-bucket-key-enabled; None: not sent
    tags: tuple[tuple[str, str], ...] = ()  # x-amz-tagging
    more_headers: tuple[tuple[str, str], ...] = ()  # storage class, Object Lock, encryption context, ...

    @classmethod
    def from_spec(cls, spec: BucketAccessSpec, role_arn: str, class_vpce: str | None = None) -> UploadIntent:
        encryption = spec.upload.encryption
        extra = tuple(a for a in spec.actions if a.lower() not in ("s3:putobject", "s3:putobjectacl"))
        return cls(
            role_arn=role_arn,
            bucket=spec.bucket,
            prefix=spec.prefix,
            acl=spec.upload.acl,
            sse=encryption.algorithm if encryption else None,
            kms_key=encryption.kms_key_arn if encryption else None,
            multipart=spec.upload.multipart,
            actions=extra,
            vpc_endpoint=spec.vpc_endpoint_id or class_vpce,
            bucket_key=encryption.bucket_key_enabled if encryption else None,
            tags=spec.upload.tags,
            more_headers=spec.upload.more_headers,
        )

    @property
    def key(self) -> str:
        return f"{self.prefix}{PROBE_OBJECT}"

    def headers(self) -> dict[str, str]:
        out = {}
        if self.acl:
            out["x-amz-acl"] = self.acl
        if self.sse:
            out["x-amz-server-side-encryption"] = self.sse
        if self.kms_key and self.sse == "aws:kms":
            out["x-amz-server-side-encryption-aws-kms-key-id"] = self.kms_key
        if self.tags:
            out["x-amz-tagging"] = urlencode(self.tags)
        if self.bucket_key is not None:
            out["x-amz-server-side-encryption-bucket-key-enabled"] = "true" if self.bucket_key else "false"
        return out | dict(self.more_headers)

    def requests(self, principal: str) -> list[dict[str, Any]]:
        """The scenario ``request`` blocks: the upload itself, then one per extra action."""
        upload: dict[str, Any] = {
            "principal": principal,
            "bucket": self.bucket,
            "key": self.key,
            "prefix": self.prefix,  # what a suggested fix covers: BUCKET/PREFIX*, not the probe key
            "multipart": self.multipart,
        }
        if self.headers():
            upload["headers"] = self.headers()
        out = [upload]
        out += [
            {
                "principal": principal,
                "bucket": self.bucket,
                "key": self.key,
                "prefix": self.prefix,
                "action": a,
            }
            for a in self.actions
        ]
        return out
