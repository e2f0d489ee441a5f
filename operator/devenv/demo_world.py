"""The demo: the five causes of the AWS article side by side, and one upload that works.

An organization in the local endpoint (see :mod:`.org_world`), one BucketAccess per cause:

    cause1-missing-putobject   the role's identity policy has no s3:PutObject
    cause2-kms-key-user        the bucket's default KMS key does not list the role as a key user
    cause3-explicit-deny       the article's bucket policy: Deny PutObject unless the KMS key header
    cause4-bucket-acl          a partner account's role, a bucket whose ACL grants it nothing
    cause5-scp-denies-s3       a role in an OU under the article's SCP that denies "S3:*"
    invoices-ready             everything in place
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .moto_server import MotoServer
from .org_world import OrgWorld, doc

NAMESPACE = "billing"
CLASS = "billing-uploads"
PUT = doc(
    {
        "Sid": "AllowUploads",
        "Effect": "Allow",
        "Action": ["s3:PutObject", "kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "*",
    }
)
READ = doc({"Sid": "ReadOnly", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})


@dataclass
class DemoWorld:
    moto: MotoServer | None = None
    org: OrgWorld | None = None
    names: list[tuple[str, str]] = field(default_factory=list)

    def seed(self, moto: MotoServer) -> None:
        self.moto = moto
        org = self.org = OrgWorld(moto)
        w = org.workloads
        deny = {
            "Sid": "ExampleStmt",
            "Action": ["s3:PutObject"],
            "Effect": "Deny",
            "Resource": "arn:aws:s3:::awsdoc-example-denied/*",
            "Condition": {
                "StringNotLikeIfExists": {
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": f"arn:aws:kms:us-east-1:{w}:key/*"
                }
            },
            "Principal": "*",
        }
        admins = {
            "Sid": "KeyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{w}:role/key-admin"},
            "Action": "kms:*",
            "Resource": "*",
        }
        org.seed(
            {
                "roles": [
                    {"name": "billing-reader", "inline": {"read-only": READ}},
                    {"name": "billing-uploader", "inline": {"uploads": PUT}},
                ],
                "keys": [{"ref": "invoices", "alias": "alias/invoices", "policy": doc(admins)}],
                "buckets": [
                    {"name": "awsdoc-example-bucket"},
                    {"name": "awsdoc-example-kms", "encryption": {"algorithm": "aws:kms", "key": "invoices"}},
                    {"name": "awsdoc-example-denied", "policy": doc(deny)},
                    {"name": "awsdoc-example-acl", "ownership": "ObjectWriter"},
                    {
                        "name": "awsdoc-example-scp",
                        "policy": doc(
                            {
                                "Sid": "RestrictedUploads",
                                "Effect": "Allow",
                                "Principal": {
                                    "AWS": f"arn:aws:iam::{org.restricted}:role/restricted-uploader"
                                },
                                "Action": "s3:PutObject",
                                "Resource": "arn:aws:s3:::awsdoc-example-scp/*",
                            }
                        ),
                    },
                ],
            }
        )
        org.seed({"roles": [{"name": "partner-uploader", "inline": {"uploads": PUT}}]}, account=org.partners)
        org.seed(
            {"roles": [{"name": "restricted-uploader", "inline": {"uploads": PUT}}]}, account=org.restricted
        )

    def operator_env(self) -> dict[str, str]:
        assert self.org is not None
        return self.org.operator_env()

    def operator_args(self) -> list[str]:
        assert self.org is not None
        return [*self.org.operator_args(), "--default-interval", "10s", "--cache-ttl", "5s"]

    def manifests(self) -> list[dict[str, Any]]:
        assert self.org is not None
        org = self.org

        def ba(name: str, bucket: str, role: str, prefix: str = "uploads/", **extra: Any) -> dict[str, Any]:
            self.names.append((NAMESPACE, name))
            return {
                "apiVersion": "s3access.dev/v1alpha1",
                "kind": "BucketAccess",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "spec": {
                    "className": CLASS,
                    "bucket": bucket,
                    "prefix": prefix,
                    "role": {"arn": role},
                    **extra,
                },
            }

        w, p, r = org.workloads, org.partners, org.restricted
        return [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": NAMESPACE, "labels": {"team": "billing"}},
            },
            {
                "apiVersion": "s3access.dev/v1alpha1",
                "kind": "BucketAccessClass",
                "metadata": {"name": CLASS},
                "spec": {
                    "namespaceSelector": {"matchLabels": {"team": "billing"}},
                    "buckets": ["awsdoc-example-*"],
                    "roles": ["arn:aws:iam::*:role/*"],
                },
            },
            ba("cause1-missing-putobject", "awsdoc-example-bucket", f"arn:aws:iam::{w}:role/billing-reader"),
            ba("cause2-kms-key-user", "awsdoc-example-kms", f"arn:aws:iam::{w}:role/billing-uploader"),
            ba("cause3-explicit-deny", "awsdoc-example-denied", f"arn:aws:iam::{w}:role/billing-uploader"),
            ba("cause4-bucket-acl", "awsdoc-example-acl", f"arn:aws:iam::{p}:role/partner-uploader"),
            ba("cause5-scp-denies-s3", "awsdoc-example-scp", f"arn:aws:iam::{r}:role/restricted-uploader"),
            ba(
                "invoices-ready",
                "awsdoc-example-bucket",
                f"arn:aws:iam::{w}:role/billing-uploader",
                prefix="invoices/",
            ),
        ]

    def describe(self) -> list[tuple[str, str]]:
        return [(NAMESPACE, "cause3-explicit-deny")]


def build_demo() -> DemoWorld:
    return DemoWorld()
