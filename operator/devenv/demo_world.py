"""The demo: the five causes of the AWS article side by side, and one upload that works.

An organization in the local endpoint (see :mod:`.org_world`), one BucketAccess per cause:

    cause1-missing-putobject   the role's identity policy has no s3:PutObject
    cause2-kms-key-user        the bucket's default KMS key does not list the role as a key user
    cause3-explicit-deny       the article's bucket policy: Deny PutObject unless the KMS key header
    cause4-bucket-acl          a partner account's role, a bucket whose ACL grants it nothing
    cause5-scp-denies-s3       a role in an OU under the article's SCP that denies "S3:*"
    invoices-ready             everything in place

and then the repair, on resources of their own under a second class that starts in Observe:

    repair-cause1              cause 1 again, on a bucket whose policy has an auditor's Allow and a Deny
                               of plain HTTP: once the class says Manage, the operator adds an Allow
                               for the role to the bucket policy
    repair-cause2              cause 2 again, on a key whose policy has its administrators' statement:
                               once the class says KeyPolicy, the operator adds the role as a key user
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .moto_server import MotoServer
from .org_world import OrgWorld, doc

NAMESPACE = "billing"
CLASS = "billing-uploads"
REPAIRS = "billing-repairs"  # the class the demo switches from Observe to Manage / KeyPolicy
REPAIRED = ("repair-cause1", "repair-cause2")
REPAIR_MODES = {"bucketPolicy": "Manage", "kmsKeyUsers": "KeyPolicy"}
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
                "keys": [
                    {"ref": "invoices", "alias": "alias/invoices", "policy": doc(admins)},
                    {"ref": "ledger", "alias": "alias/ledger", "policy": doc(admins)},
                ],
                "buckets": [
                    {"name": "awsdoc-example-bucket"},
                    {"name": "awsdoc-example-kms", "encryption": {"algorithm": "aws:kms", "key": "invoices"}},
                    {"name": "awsdoc-example-denied", "policy": doc(deny)},
                    {"name": "awsdoc-example-acl", "ownership": "ObjectWriter"},
                    {"name": "awsdoc-example-managed", "policy": doc(*self.foreign_bucket_statements(w))},
                    {
                        "name": "awsdoc-example-managed-kms",
                        "encryption": {"algorithm": "aws:kms", "key": "ledger"},
                    },
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

    @staticmethod
    def foreign_bucket_statements(account: str) -> list[dict[str, Any]]:
        """Statements of the bucket's owners that the operator must leave exactly as they are."""
        bucket = "arn:aws:s3:::awsdoc-example-managed"
        return [
            {
                "Sid": "AuditorRead",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:role/key-admin"},
                "Action": "s3:GetObject",
                "Resource": f"{bucket}/*",
            },
            {
                "Sid": "DenyPlainHTTP",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket, f"{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ]

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
            {
                "apiVersion": "s3access.dev/v1alpha1",
                "kind": "BucketAccessClass",
                "metadata": {"name": REPAIRS},
                "spec": {
                    "namespaceSelector": {"matchLabels": {"team": "billing"}},
                    "buckets": ["awsdoc-example-managed*"],
                    "roles": [f"arn:aws:iam::{w}:role/billing-*"],
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
            ba(
                "repair-cause1",
                "awsdoc-example-managed",
                f"arn:aws:iam::{w}:role/billing-reader",
                className=REPAIRS,
            ),
            ba(
                "repair-cause2",
                "awsdoc-example-managed-kms",
                f"arn:aws:iam::{w}:role/billing-uploader",
                className=REPAIRS,
            ),
        ]

    def statements(self) -> dict[str, dict[str, Any]]:
        """The repaired bucket's and key's policy statements by Sid, as AWS (the local endpoint) has them."""
        import json

        assert self.org is not None
        s3, kms = self.org.client("s3"), self.org.client("kms")
        bucket = json.loads(s3.get_bucket_policy(Bucket="awsdoc-example-managed")["Policy"])
        key_id = kms.describe_key(KeyId="alias/ledger")["KeyMetadata"]["KeyId"]
        key = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
        return {
            "bucket awsdoc-example-managed": {st.get("Sid", ""): st for st in bucket["Statement"]},
            "key alias/ledger": {st.get("Sid", ""): st for st in key["Statement"]},
        }

    def describe(self) -> list[tuple[str, str]]:
        return [(NAMESPACE, "cause3-explicit-deny")]


def build_demo() -> DemoWorld:
    return DemoWorld()
