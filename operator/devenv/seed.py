"""Build an AWS world from data in a local endpoint: roles, buckets, keys, an organization.

A world is plain data (a dict, or YAML), so tests and the demo describe *what* exists and this
module makes it so. Each resource may name its ``account``; the request then carries moto's
``x-moto-account-id`` header. This file is development tooling: the operator never imports it.

    world = {
      "account": "111122223333", "region": "us-east-1",
      "roles": [{"name": "uploader", "path": "/", "inline": {"put": DOC}, "managed": {"shared": DOC},
                 "boundary": DOC, "tags": {"team": "billing"}}],
      "keys": [{"ref": "uploads", "alias": "alias/uploads", "policy": DOC,
                "grants": [{"grantee": "role:uploader", "operations": ["GenerateDataKey"]}]}],
      "buckets": [{"name": "b", "policy": DOC, "ownership": "BucketOwnerEnforced",
                   "acl": {"grants": [...]}, "publicAccessBlock": {...},
                   "encryption": {"algorithm": "aws:kms", "key": "uploads", "bucketKeyEnabled": False}}],
      "organization": {"managementAccount": "999988887777", "scps": [DOC, ...] (attached to the root),
                       "ous": [{"name": "workloads", "accounts": [...], "scps": [...]}]},
    }

Strings ``${key:REF}`` and ``${role:NAME}`` inside documents become the created key ARN / role ARN.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions

_REF = re.compile(r"\$\{(key|role):([^}]+)\}")


@dataclass
class Seeded:
    """What the seeder made, for tests to refer to."""

    account: str
    region: str
    roles: dict[str, str] = field(default_factory=dict)  # name -> ARN
    keys: dict[str, str] = field(default_factory=dict)  # ref -> key ARN
    buckets: list[str] = field(default_factory=list)
    grants: dict[str, list[str]] = field(default_factory=dict)  # key ref -> grant ids
    organization: dict[str, Any] = field(default_factory=dict)


class Seeder:
    def __init__(self, endpoint: str, region: str = "us-east-1") -> None:
        self.endpoint = endpoint
        self.region = region

    def client(self, service: str, account: str | None = None) -> Any:
        c = boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        if account is not None:

            def add_header(request: Any, **_: Any) -> None:
                request.headers["x-moto-account-id"] = account

            c.meta.events.register("before-sign.*.*", add_header)
        return c

    def _resolve(self, doc: Any, seeded: Seeded) -> str:
        text = json.dumps(doc)

        def repl(m: re.Match[str]) -> str:
            kind, name = m.group(1), m.group(2)
            table = seeded.keys if kind == "key" else seeded.roles
            if name not in table:
                raise KeyError(f"world refers to {kind} {name!r}, which it does not define (yet)")
            return table[name]

        return _REF.sub(repl, text)

    def seed(self, world: dict[str, Any]) -> Seeded:
        account = world.get("account", "123456789012")
        seeded = Seeded(account, world.get("region", self.region))
        for role in world.get("roles", []):
            self._role(role, role.get("account", account), seeded)
        for key in world.get("keys", []):
            self._key(key, key.get("account", account), seeded)
        for bucket in world.get("buckets", []):
            self._bucket(bucket, bucket.get("account", account), seeded)
        if world.get("organization"):
            seeded.organization = self._organization(world["organization"], seeded)
        return seeded

    def _role(self, role: dict[str, Any], account: str, seeded: Seeded) -> None:
        iam = self.client("iam", account)
        trust = role.get("trust") or {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        kwargs: dict[str, Any] = {
            "RoleName": role["name"],
            "Path": role.get("path", "/"),
            "AssumeRolePolicyDocument": json.dumps(trust),
        }
        if role.get("tags"):
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in role["tags"].items()]
        if role.get("boundary"):
            boundary = iam.create_policy(
                PolicyName=f"{role['name']}-boundary", PolicyDocument=self._resolve(role["boundary"], seeded)
            )
            kwargs["PermissionsBoundary"] = boundary["Policy"]["Arn"]
        arn = iam.create_role(**kwargs)["Role"]["Arn"]
        seeded.roles[role["name"]] = arn
        for name, doc in (role.get("inline") or {}).items():
            iam.put_role_policy(
                RoleName=role["name"], PolicyName=name, PolicyDocument=self._resolve(doc, seeded)
            )
        for name, doc in (role.get("managed") or {}).items():
            policy_arn = iam.create_policy(PolicyName=name, PolicyDocument=self._resolve(doc, seeded))[
                "Policy"
            ]["Arn"]
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=policy_arn)

    def _key(self, key: dict[str, Any], account: str, seeded: Seeded) -> None:
        kms = self.client("kms", account)
        kwargs: dict[str, Any] = {"Description": key.get("description", key["ref"])}
        if key.get("policy"):
            kwargs["Policy"] = self._resolve(key["policy"], seeded)
        meta = kms.create_key(**kwargs)["KeyMetadata"]
        seeded.keys[key["ref"]] = meta["Arn"]
        if key.get("alias"):
            kms.create_alias(AliasName=key["alias"], TargetKeyId=meta["KeyId"])
        for grant in key.get("grants", []):
            grantee = self._resolve(grant["grantee"], seeded).strip('"')
            gid = kms.create_grant(
                KeyId=meta["KeyId"], GranteePrincipal=grantee, Operations=grant["operations"]
            )["GrantId"]
            seeded.grants.setdefault(key["ref"], []).append(gid)
        if key.get("state") == "Disabled":
            kms.disable_key(KeyId=meta["KeyId"])
        elif key.get("state") == "PendingDeletion":
            kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)

    def _bucket(self, bucket: dict[str, Any], account: str, seeded: Seeded) -> None:
        s3 = self.client("s3", account)
        name = bucket["name"]
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        if bucket.get("ownership"):
            kwargs["ObjectOwnership"] = bucket["ownership"]
        s3.create_bucket(**kwargs)
        seeded.buckets.append(name)
        if bucket.get("policy"):
            s3.put_bucket_policy(Bucket=name, Policy=self._resolve(bucket["policy"], seeded))
        if bucket.get("acl"):
            owner = s3.get_bucket_acl(Bucket=name)["Owner"]
            grants = bucket["acl"].get("grants", [])
            s3.put_bucket_acl(Bucket=name, AccessControlPolicy={"Owner": owner, "Grants": grants})
        if bucket.get("publicAccessBlock"):
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=bucket["publicAccessBlock"]
            )
        enc = bucket.get("encryption")
        if enc:
            rule: dict[str, Any] = {"SSEAlgorithm": enc["algorithm"]}
            if enc.get("key"):
                rule["KMSMasterKeyID"] = seeded.keys.get(enc["key"], enc["key"])
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": rule,
                            "BucketKeyEnabled": bool(enc.get("bucketKeyEnabled")),
                        }
                    ]
                },
            )

    def _organization(self, spec: dict[str, Any], seeded: Seeded) -> dict[str, Any]:
        mgmt = spec.get("managementAccount", seeded.account)
        org = self.client("organizations", mgmt)
        org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        root_id = org.list_roots()["Roots"][0]["Id"]
        for ptype in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
            # already enabled, or a policy type this endpoint does not know: either way, go on
            with contextlib.suppress(botocore.exceptions.ClientError):
                org.enable_policy_type(RootId=root_id, PolicyType=ptype)
        out: dict[str, Any] = {
            "id": org_id,
            "root": root_id,
            "managementAccount": mgmt,
            "ous": {},
            "accounts": {},
        }

        def attach(target: str, docs: list[dict[str, Any]], kind: str) -> None:
            ptype = "SERVICE_CONTROL_POLICY" if kind == "scp" else "RESOURCE_CONTROL_POLICY"
            for i, doc in enumerate(docs):
                name = doc.get("name", f"{kind}-{target}-{i}")
                pid = org.create_policy(
                    Content=self._resolve(doc["document"], seeded), Description=name, Name=name, Type=ptype
                )["Policy"]["PolicySummary"]["Id"]
                org.attach_policy(PolicyId=pid, TargetId=target)

        attach(root_id, spec.get("scps", []), "scp")
        attach(root_id, spec.get("rcps", []), "rcp")
        for ou in spec.get("ous", []):
            ou_id = org.create_organizational_unit(ParentId=root_id, Name=ou["name"])["OrganizationalUnit"][
                "Id"
            ]
            out["ous"][ou["name"]] = ou_id
            attach(ou_id, ou.get("scps", []), "scp")
            attach(ou_id, ou.get("rcps", []), "rcp")
            for acct in ou.get("accounts", []):
                created = org.create_account(AccountName=acct["name"], Email=f"{acct['name']}@example.com")
                account_id = created["CreateAccountStatus"]["AccountId"]
                org.move_account(AccountId=account_id, SourceParentId=root_id, DestinationParentId=ou_id)
                out["accounts"][acct["name"]] = account_id
                attach(account_id, acct.get("scps", []), "scp")
        return out
