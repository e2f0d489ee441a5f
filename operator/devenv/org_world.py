"""An AWS organization in a local endpoint, for the e2e tests and the demo.

    M  999988887777  management account: the organization, the org-reader role
    W  (created)     workloads: the operator's own credentials, buckets and most roles
    P  (created)     partners: a cross-account uploader for the ACL cause
    R  (created)     restricted: its OU carries the article's SCP that denies "S3:*"

Callers add their own roles, buckets and keys with :meth:`OrgWorld.seed`. The operator gets
an access key of a user in W, and reads SCPs through the org-reader role in M and cross-account
roles through a reader role in P and R, as it would in a real organization.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from .moto_server import MotoServer
from .seed import Seeded, Seeder

MANAGEMENT = "999988887777"
READER_ROLE = "bucketaccess-reader"
DENY_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "S3:*", "Resource": "*"}]}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class OrgWorld:
    moto: MotoServer
    seeder: Seeder = field(init=False)
    workloads: str = ""
    partners: str = ""
    restricted: str = ""
    org: dict[str, Any] = field(default_factory=dict)
    operator_key: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.seeder = Seeder(self.moto.url)
        seeded = self.seeder.seed(
            {
                "account": MANAGEMENT,
                "organization": {
                    "managementAccount": MANAGEMENT,
                    "ous": [
                        {"name": "workloads", "accounts": [{"name": "workloads"}]},
                        {"name": "partners", "accounts": [{"name": "partners"}]},
                        {
                            "name": "restricted",
                            "scps": [{"name": "DenyS3", "document": DENY_S3}],
                            "accounts": [{"name": "restricted"}],
                        },
                    ],
                },
            }
        )
        self.org = seeded.organization
        self.workloads = self.org["accounts"]["workloads"]
        self.partners = self.org["accounts"]["partners"]
        self.restricted = self.org["accounts"]["restricted"]
        trust = doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{self.workloads}:root"},
                "Action": "sts:AssumeRole",
            }
        )
        self.iam(MANAGEMENT).create_role(
            RoleName="bucketaccess-org-reader", AssumeRolePolicyDocument=json.dumps(trust)
        )
        for account in (self.partners, self.restricted):
            self.iam(account).create_role(RoleName=READER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
        iam = self.iam(self.workloads)
        iam.create_user(UserName="bucketaccess-operator")
        key = iam.create_access_key(UserName="bucketaccess-operator")["AccessKey"]
        self.operator_key = {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }

    def iam(self, account: str) -> Any:
        return self.seeder.client("iam", account)

    def client(self, service: str, account: str | None = None) -> Any:
        return self.seeder.client(service, account or self.workloads)

    def seed(self, world: dict[str, Any], account: str | None = None) -> Seeded:
        return self.seeder.seed({"account": account or self.workloads, **world})

    def oidc_provider(self, issuer: str, account: str | None = None) -> str:
        """The account's IAM OIDC provider for ``issuer``, as eksctl creates it for IRSA (client ID
        sts.amazonaws.com); created unless it exists. Its ARN."""
        iam = self.client("iam", account)
        arn = f"arn:aws:iam::{account or self.workloads}:oidc-provider/{issuer.removeprefix('https://')}"
        if arn not in [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]:
            iam.create_open_id_connect_provider(
                Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40]
            )
        return arn

    def operator_env(self) -> dict[str, str]:
        return {**self.moto.env(), **self.operator_key}

    def operator_args(self, org_reader: bool = True) -> list[str]:
        args = ["--account-reader-role-name", READER_ROLE, "--default-interval", "2s", "--cache-ttl", "1s"]
        if org_reader:
            args += ["--org-reader-role-arn", f"arn:aws:iam::{MANAGEMENT}:role/bucketaccess-org-reader"]
        return args

    def detach_scp(self, name: str, ou: str) -> None:
        org = self.seeder.client("organizations", MANAGEMENT)
        policy = next(
            p for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] if p["Name"] == name
        )
        org.detach_policy(PolicyId=policy["Id"], TargetId=self.org["ous"][ou])

    def attach_scp(self, name: str, ou: str) -> None:
        org = self.seeder.client("organizations", MANAGEMENT)
        policy = next(
            p for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] if p["Name"] == name
        )
        org.attach_policy(PolicyId=policy["Id"], TargetId=self.org["ous"][ou])
