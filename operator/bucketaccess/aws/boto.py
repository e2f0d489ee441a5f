"""The boto3 implementation of :class:`AwsReader`: one client per service and region, standard
retries, and a table that turns AWS error codes into absence, NotFound, OperatorAccessDenied or
AwsUnavailable. Nothing here knows which endpoint it talks to (``AWS_ENDPOINT_URL`` is honoured
by boto3 itself)."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from ..policy import Arn
from .attempts import WriteCheck, check_each_write_attempt
from .errors import (
    ACCESS_DENIED,
    CONNECTION,
    NOT_A_MEMBER,
    NOT_CONFIGURED,
    NOT_FOUND,
    POLICY_TYPE_OFF,
    THROTTLING,
    AwsError,
    AwsUnavailable,
    NotFound,
    OperatorAccessDenied,
)
from .ports import (
    RCP,
    SCP,
    BucketInfo,
    ClusterInfo,
    Document,
    KeyInfo,
    OIDCProviderInfo,
    OrgChains,
    OrgInfo,
    OrgReach,
    PodIdentityAssociation,
    RoleInfo,
    VpcEndpointInfo,
    issuer_host,
)

# boto3 operation -> the IAM action AWS checks, where the two names differ.
IAM_ACTION = {
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("sts", "GetCallerIdentity"): "sts:GetCallerIdentity",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",  # the change-event consumer (aws/queue.py)
}
_CONNECTION_ERRORS = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ProxyConnectionError,
)
ASSUMED_REFRESH_S = 45 * 60  # assumed-role credentials last an hour by default


def iam_action(service: str, operation: str) -> str:
    prefix = "s3" if service == "s3control" else service
    return IAM_ACTION.get((service, operation), f"{prefix}:{operation}")


def _doc(value: Any) -> Document:
    """IAM hands documents back as dicts, URL-encoded JSON or JSON; S3/KMS as JSON strings."""
    if isinstance(value, dict):
        return value
    text = str(value)
    if text.lstrip().startswith("%7B") or text.lstrip().startswith("%7b"):
        text = urllib.parse.unquote(text)
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise AwsError(f"a policy document is not a JSON object: {text[:80]}")
    return parsed


class BotoReader:
    """Reads what a verification needs. Thread-safe: Kopf runs handlers on a thread pool."""

    def __init__(
        self,
        region: str | None = None,
        org_reader_role_arn: str | None = None,
        account_reader_role_name: str | None = None,
        max_pool: int = 32,
        session: boto3.session.Session | None = None,
        on_client: Callable[[Any], None] | None = None,
        check_write: WriteCheck | None = None,
    ) -> None:
        self._session = session or boto3.session.Session()
        self.region = region or self._session.region_name or "us-east-1"
        self._config = botocore.config.Config(
            retries={"mode": "standard", "max_attempts": 4},
            connect_timeout=5,
            read_timeout=15,
            max_pool_connections=max_pool,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._org_reader_role_arn = org_reader_role_arn
        self._account_reader_role_name = account_reader_role_name
        self._caller_account: str | None = None
        self._caller_lock = threading.Lock()
        self._assumed: dict[tuple[str, str], tuple[float, Any]] = {}
        self._on_client = on_client  # lets tests and metrics hook botocore events on every client
        # the leader-election fence: runs before each HTTP attempt of a write, on every client
        self._check_write = check_write

    # ------------------------------------------------------------------ plumbing
    def _client_of(self, service: str, **kwargs: Any) -> Any:
        # The stubs type clients per service name (a Literal); here the name is data.
        session: Any = self._session
        return session.client(service, **kwargs)

    def _hooked(self, made: Any) -> None:
        if self._check_write is not None:
            check_each_write_attempt(made, self._check_write)
        if self._on_client is not None:
            self._on_client(made)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self._client_of(service, region_name=key[1], config=self._config)
                if service == "s3control" and os.environ.get("AWS_ENDPOINT_URL"):
                    found.meta.events.register("before-sign.s3-control.*", _drop_account_host_prefix)
                self._hooked(found)
                self._clients[key] = found
            return found

    def call(
        self,
        client: Any,
        operation: str,
        *,
        kind: str = "",
        name: str = "",
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call one AWS operation; "not configured" comes back as None, everything else as AwsError.
        ``params``: API parameters whose names clash with this method's own (EKS's ``name``).
        What a write check raises (NotLeader) is none of botocore's errors: it passes as itself."""
        service = client.meta.service_model.service_name
        method = getattr(client, _snake(operation))
        action = iam_action(service, operation)
        try:
            return method(**kwargs, **(params or {}))
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            message = str(error.get("Message") or code)
            if code in NOT_CONFIGURED:
                return None
            if kind and (code in NOT_FOUND or status == 404):
                raise NotFound(kind, name, code=code, status=status, operation=action) from None
            if code in ACCESS_DENIED or status == 403:
                raise OperatorAccessDenied(action, message, code=code, status=status) from None
            if code in THROTTLING or status >= 500:
                raise AwsUnavailable(
                    f"{action} failed after retries: {code} {message}",
                    code=code,
                    status=status,
                    operation=action,
                ) from None
            raise AwsError(
                f"{action}: {code} {message}", code=code, status=status, operation=action
            ) from None
        except _CONNECTION_ERRORS as exc:
            raise AwsUnavailable(
                f"{action}: cannot reach AWS ({type(exc).__name__})", code=CONNECTION, operation=action
            ) from None
        except botocore.exceptions.NoCredentialsError:
            raise OperatorAccessDenied(
                action,
                "the operator has no AWS credentials (IRSA, AWS_PROFILE or AWS_ACCESS_KEY_ID)",
                code="NoCredentials",
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsUnavailable(f"{action}: {exc}", code=CONNECTION, operation=action) from None

    def pages(
        self, client: Any, operation: str, key: str, *, kind: str = "", name: str = "", **kwargs: Any
    ) -> Iterator[Any]:
        token_in, token_out = _PAGINATION.get(operation, ("Marker", "Marker"))
        while True:
            page = self.call(client, operation, kind=kind, name=name, **kwargs)
            if page is None:
                return
            yield from page.get(key, [])
            token = page.get(token_out) or page.get("NextToken")
            if not token or (token_out == "Marker" and not page.get("IsTruncated")):
                return
            kwargs[token_in] = token

    # ------------------------------------------------------------------ reads
    def caller_account(self) -> str:
        # The account behind the operator's credentials does not change while it runs.
        with self._caller_lock:
            if self._caller_account is None:
                self._caller_account = str(self.call(self.client("sts"), "GetCallerIdentity")["Account"])
            return self._caller_account

    def _iam_of(self, account: str, action: str, what: str) -> Any:
        """An IAM client for ``account``: IAM is per account, so one elsewhere is readable only
        through the account reader role there."""
        if account == self.caller_account():
            return self.client("iam")
        if not self._account_reader_role_name:
            raise OperatorAccessDenied(
                action,
                f"{what} is in account {account}, not the operator's; configure --account-reader-role-name "
                "with a role the operator may assume in that account",
            )
        return self.assumed_client(f"arn:aws:iam::{account}:role/{self._account_reader_role_name}", "iam")

    def role(self, arn: str) -> RoleInfo:
        iam = self._iam_of(Arn.parse(arn).account, "iam:GetRole", f"role {arn}")
        name = arn.rsplit("/", 1)[-1]
        role = self.call(iam, "GetRole", kind="role", name=arn, RoleName=name)["Role"]
        inline = tuple(
            (pname, _doc(self.call(iam, "GetRolePolicy", RoleName=name, PolicyName=pname)["PolicyDocument"]))
            for pname in self.pages(iam, "ListRolePolicies", "PolicyNames", RoleName=name)
        )
        managed = tuple(
            (p["PolicyName"], self._managed_document(iam, p["PolicyArn"]))
            for p in self.pages(iam, "ListAttachedRolePolicies", "AttachedPolicies", RoleName=name)
        )
        boundary = None
        if role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"):
            barn = role["PermissionsBoundary"]["PermissionsBoundaryArn"]
            boundary = (barn.rsplit("/", 1)[-1], self._managed_document(iam, barn))
        trust = _doc(role["AssumeRolePolicyDocument"]) if role.get("AssumeRolePolicyDocument") else None
        return RoleInfo(
            unique_id=role.get("RoleId"),
            tags=tuple((t["Key"], t["Value"]) for t in role.get("Tags") or ()),
            arn=role["Arn"],
            account=Arn.parse(role["Arn"]).account,
            inline=inline,
            managed=managed,
            boundary=boundary,
            trust=trust,
        )

    def _managed_document(self, iam: Any, policy_arn: str) -> Document:
        version = self.call(iam, "GetPolicy", kind="policy", name=policy_arn, PolicyArn=policy_arn)["Policy"][
            "DefaultVersionId"
        ]
        return _doc(
            self.call(iam, "GetPolicyVersion", PolicyArn=policy_arn, VersionId=version)["PolicyVersion"][
                "Document"
            ]
        )

    def bucket(self, name: str) -> BucketInfo:
        s3 = self.client("s3")
        location = self.call(s3, "GetBucketLocation", kind="bucket", name=name, Bucket=name)
        region = (location or {}).get("LocationConstraint") or "us-east-1"
        region = "eu-west-1" if region == "EU" else region
        s3r = self.client("s3", region)
        policy_raw = self.call(s3r, "GetBucketPolicy", kind="bucket", name=name, Bucket=name)
        ownership_raw = self.call(s3r, "GetBucketOwnershipControls", kind="bucket", name=name, Bucket=name)
        # No ownership controls at all is the pre-2023 default: ACLs enabled, writer owns objects.
        ownership = "ObjectWriter"
        if ownership_raw:
            ownership = ownership_raw["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
        acl_raw = self.call(s3r, "GetBucketAcl", kind="bucket", name=name, Bucket=name)
        owner_id = (acl_raw or {}).get("Owner", {}).get("ID")
        acl = None
        if acl_raw is not None:
            acl = {"owner": owner_id, "grants": [_grant(g) for g in acl_raw.get("Grants", []) if _grant(g)]}
        pab_raw = self.call(s3r, "GetPublicAccessBlock", kind="bucket", name=name, Bucket=name)
        pab = dict(pab_raw["PublicAccessBlockConfiguration"]) if pab_raw else None
        enc_raw = self.call(s3r, "GetBucketEncryption", kind="bucket", name=name, Bucket=name)
        encryption = None
        if enc_raw:
            rule = enc_raw["ServerSideEncryptionConfiguration"]["Rules"][0]
            default = rule.get("ApplyServerSideEncryptionByDefault", {})
            encryption = {
                "algorithm": default.get("SSEAlgorithm", "AES256"),
                "bucketKeyEnabled": bool(rule.get("BucketKeyEnabled")),
            }
            if default.get("KMSMasterKeyID"):
                encryption["kmsKeyArn"] = default["KMSMasterKeyID"]
        # The operator runs with credentials of the account that owns the buckets it manages.
        account = self.caller_account()
        return BucketInfo(
            name=name,
            account=account,
            region=region,
            policy=_doc(policy_raw["Policy"]) if policy_raw else None,
            ownership=ownership,
            acl=acl,
            owner_canonical_id=owner_id,
            public_access_block=pab,
            encryption=encryption,
        )

    def key(self, key_ref: str, region: str) -> KeyInfo:
        if key_ref.startswith("arn:"):
            region = Arn.parse(key_ref).region
        kms = self.client("kms", region)
        meta = self.call(kms, "DescribeKey", kind="key", name=key_ref, KeyId=key_ref)["KeyMetadata"]
        arn = meta["Arn"]
        policy_raw = self.call(kms, "GetKeyPolicy", kind="key", name=arn, KeyId=arn, PolicyName="default")
        grants = tuple(_kms_grant(g) for g in self.pages(kms, "ListGrants", "Grants", KeyId=arn))
        aliases = tuple(
            a["AliasName"] for a in self.pages(kms, "ListAliases", "Aliases", KeyId=meta["KeyId"])
        )
        return KeyInfo(
            arn=arn,
            account=meta["AWSAccountId"],
            region=Arn.parse(arn).region,
            manager=meta.get("KeyManager", "CUSTOMER"),
            state=meta.get("KeyState", "Enabled"),
            aliases=aliases,
            policy=_doc(policy_raw["Policy"]) if policy_raw else None,
            grants=grants,
            origin=meta.get("Origin", "AWS_KMS"),
            multi_region=bool(meta.get("MultiRegion")),
            multi_region_key_type=(meta.get("MultiRegionConfiguration") or {}).get("MultiRegionKeyType"),
        )

    def account_public_access_block(self, account: str) -> dict[str, bool] | None:
        raw = self.call(self.client("s3control"), "GetPublicAccessBlock", AccountId=account)
        return dict(raw["PublicAccessBlockConfiguration"]) if raw else None

    def vpc_endpoint(self, endpoint_id: str, region: str) -> VpcEndpointInfo:
        ec2 = self.client("ec2", region)
        found = self.call(
            ec2, "DescribeVpcEndpoints", kind="vpce", name=endpoint_id, VpcEndpointIds=[endpoint_id]
        )
        endpoints = (found or {}).get("VpcEndpoints", [])
        if not endpoints:
            raise NotFound("vpce", endpoint_id)
        found_one = endpoints[0]
        doc = found_one.get("PolicyDocument")
        return VpcEndpointInfo(
            id=endpoint_id,
            policy=_doc(doc) if doc else None,
            vpc_id=found_one.get("VpcId") or None,
            owner=found_one.get("OwnerId") or None,
        )

    def assumed_client(self, role_arn: str, service: str) -> Any:
        """A client acting as ``role_arn`` (refreshed before its credentials expire)."""
        key = (role_arn, service)
        with self._lock:
            found = self._assumed.get(key)
            if found and time.monotonic() - found[0] < ASSUMED_REFRESH_S:
                return found[1]
        creds = self.call(
            self.client("sts"), "AssumeRole", RoleArn=role_arn, RoleSessionName="bucketaccess-reader"
        )["Credentials"]
        made = self._client_of(
            service,
            region_name=self.region,
            config=self._config,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        self._hooked(made)
        with self._lock:
            self._assumed[key] = (time.monotonic(), made)
        return made

    def _organizations(self) -> Any:
        if self._org_reader_role_arn is None:
            return self.client("organizations")
        return self.assumed_client(self._org_reader_role_arn, "organizations")

    def cluster(self, name: str) -> ClusterInfo:
        found = self.call(
            self.client("eks"), "DescribeCluster", kind="EKS cluster", name=name, params={"name": name}
        )
        cluster = (found or {}).get("cluster") or {}
        issuer = ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer")
        return ClusterInfo(
            name=name, arn=str(cluster.get("arn") or ""), oidc_issuer=str(issuer) if issuer else None
        )

    def oidc_provider(self, account: str, issuer: str) -> OIDCProviderInfo | None:
        host = issuer_host(issuer)
        iam = self._iam_of(account, "iam:ListOpenIDConnectProviders", f"the OIDC provider for {host}")
        listed = self.call(iam, "ListOpenIDConnectProviders") or {}
        for entry in listed.get("OpenIDConnectProviderList", []):
            arn = str(entry.get("Arn") or "")
            if arn.partition(":oidc-provider/")[2] != host:
                continue
            try:
                found = self.call(
                    iam,
                    "GetOpenIDConnectProvider",
                    kind="OIDC provider",
                    name=arn,
                    OpenIDConnectProviderArn=arn,
                )
            except NotFound:
                return None  # deleted between the list and the read
            return OIDCProviderInfo(
                arn=arn,
                url=str((found or {}).get("Url") or host),
                client_ids=tuple(str(c) for c in (found or {}).get("ClientIDList") or ()),
            )
        return None

    def pod_identity_associations(
        self, cluster: str, namespace: str, service_account: str
    ) -> tuple[PodIdentityAssociation, ...]:
        eks = self.client("eks")
        summaries = self.pages(
            eks,
            "ListPodIdentityAssociations",
            "associations",
            clusterName=cluster,
            namespace=namespace,
            serviceAccount=service_account,
        )
        out = []
        for summary in summaries:
            found = self.call(
                eks,
                "DescribePodIdentityAssociation",
                kind="Pod Identity association",
                name=summary["associationId"],
                clusterName=cluster,
                associationId=summary["associationId"],
            )
            a = (found or {}).get("association") or {}
            out.append(
                PodIdentityAssociation(
                    association_id=str(a.get("associationId") or summary["associationId"]),
                    cluster=cluster,
                    namespace=str(a.get("namespace") or namespace),
                    service_account=str(a.get("serviceAccount") or service_account),
                    role_arn=str(a.get("roleArn") or ""),
                    target_role_arn=a.get("targetRoleArn") or None,
                    external_id=a.get("externalId") or None,
                    disable_session_tags=bool(a.get("disableSessionTags")),
                    policy=_doc(a["policy"]) if a.get("policy") else None,
                )
            )
        return tuple(out)

    def organization(self, accounts: tuple[str, ...]) -> OrgInfo | None:
        org = self._organizations()
        described = self.call(org, "DescribeOrganization")
        if described is None:
            return None
        info = described["Organization"]
        if self._org_reader_role_arn is None and self.caller_account() != info["MasterAccountId"]:
            # A member account sees that it is in an organization but not the policies above it;
            # only the management account (or a delegated administrator) can list them.
            raise OperatorAccessDenied(
                "organizations:ListPoliciesForTarget",
                "the operator runs in a member account; SCPs and RCPs are readable only from the management account",
            )
        documents: dict[str, tuple[str, Document]] = {}
        chains = {}
        for account in accounts:
            if account == info["MasterAccountId"]:
                continue
            targets = self._targets(org, account)
            if targets is None:
                continue  # not a member
            chains[account] = OrgChains(
                scps=tuple(self._level(org, t, "SERVICE_CONTROL_POLICY", documents) for t in targets),
                rcps=tuple(self._level(org, t, "RESOURCE_CONTROL_POLICY", documents) for t in targets),
            )
        return OrgInfo(id=info["Id"], management_account=info["MasterAccountId"], chains=chains)

    def org_policy_reach(self, policy_id: str, targets: tuple[str, ...] | None) -> OrgReach:
        org = self._organizations()
        kind = "organization policy"
        policy_type: str | None
        try:
            described = self.call(org, "DescribePolicy", kind=kind, name=policy_id, PolicyId=policy_id)
            policy_type = str(described["Policy"]["PolicySummary"]["Type"])
        except NotFound:
            if targets is None:
                raise
            policy_type = None  # deleted since: its targets still say which accounts it reached
        if policy_type not in (SCP, RCP, None):
            return OrgReach(policy_type=policy_type, accounts=frozenset())  # binds no upload: read no more
        if targets is None:
            listed = self.pages(
                org, "ListTargetsForPolicy", "Targets", kind=kind, name=policy_id, PolicyId=policy_id
            )
            targets = tuple(str(t["TargetId"]) for t in listed)
        if any(t.startswith("r-") for t in targets):
            return OrgReach(policy_type=policy_type, accounts=None)
        accounts = {t for t in targets if t.isdigit()}
        ous = [t for t in targets if t.startswith("ou-")]
        while ous:  # Organizations nests OUs at most five deep
            parent = ous.pop()
            for child_type, into in (("ACCOUNT", accounts), ("ORGANIZATIONAL_UNIT", None)):
                children = self.pages(org, "ListChildren", "Children", ParentId=parent, ChildType=child_type)
                ids = [str(c["Id"]) for c in children]
                if into is None:
                    ous += ids
                else:
                    into.update(ids)
        return OrgReach(policy_type=policy_type, accounts=frozenset(accounts))

    def _targets(self, org: Any, account: str) -> list[str] | None:
        """Root first, then each OU, then the account; None when the account is not a member."""
        path = [account]
        child = account
        for _ in range(10):  # Organizations nests OUs at most five deep
            try:
                parents = self.call(org, "ListParents", ChildId=child)
            except AwsError as exc:
                if exc.code in NOT_A_MEMBER:
                    return None
                raise
            parent = (parents or {}).get("Parents", [])
            if not parent:
                return None
            path.append(parent[0]["Id"])
            if parent[0]["Type"] == "ROOT":
                return list(reversed(path))
            child = parent[0]["Id"]
        return list(reversed(path))

    def _level(
        self, org: Any, target: str, ptype: str, documents: dict[str, tuple[str, Document]]
    ) -> tuple[tuple[str, Document], ...]:
        try:
            listed = list(self.pages(org, "ListPoliciesForTarget", "Policies", TargetId=target, Filter=ptype))
        except AwsError as exc:
            if ptype == "RESOURCE_CONTROL_POLICY" and exc.code in POLICY_TYPE_OFF:
                return ()  # RCPs are not enabled in this organization
            raise
        out = []
        for summary in listed:
            pid = summary["Id"]
            if pid not in documents:
                policy = self.call(org, "DescribePolicy", PolicyId=pid)["Policy"]
                documents[pid] = (policy["PolicySummary"]["Name"], _doc(policy["Content"]))
            out.append(documents[pid])
        return tuple(out)


_PAGINATION = {
    "ListRolePolicies": ("Marker", "Marker"),
    "ListAttachedRolePolicies": ("Marker", "Marker"),
    "ListGrants": ("Marker", "NextMarker"),
    "ListAliases": ("Marker", "NextMarker"),
    "ListPoliciesForTarget": ("NextToken", "NextToken"),
    "ListTargetsForPolicy": ("NextToken", "NextToken"),
    "ListChildren": ("NextToken", "NextToken"),
    "ListPodIdentityAssociations": ("nextToken", "nextToken"),
}


def _drop_account_host_prefix(request: Any, **_: Any) -> None:
    """S3 Control puts the account id in front of the host name. An endpoint override (a proxy,
    a VPC interface endpoint, a local stand-in) serves no such names, so ask its own host."""
    parts = urllib.parse.urlsplit(request.url)
    host, _, rest = parts.netloc.partition(".")
    if host.isdigit() and len(host) == 12 and rest:
        request.url = urllib.parse.urlunsplit(parts._replace(netloc=rest))


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if (
            ch.isupper()
            and i
            and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower()))
        ):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _grant(raw: dict[str, Any]) -> dict[str, Any] | None:
    grantee = raw.get("Grantee", {})
    gtype = grantee.get("Type")
    value = {
        "CanonicalUser": grantee.get("ID"),
        "Group": grantee.get("URI"),
        "AmazonCustomerByEmail": grantee.get("EmailAddress"),
    }.get(gtype or "")
    if not value:
        return None
    key = {"CanonicalUser": "id", "Group": "uri", "AmazonCustomerByEmail": "email"}[gtype]
    return {"grantee": {"type": gtype, key: value}, "permission": raw.get("Permission", "READ")}


def _kms_grant(raw: dict[str, Any]) -> dict[str, Any]:
    grant: dict[str, Any] = {
        "granteePrincipal": raw.get("GranteePrincipal", ""),
        "operations": list(raw.get("Operations", [])) or ["Decrypt"],
    }
    constraints = raw.get("Constraints") or {}
    if constraints.get("EncryptionContextSubset"):
        grant["constraints"] = {"encryptionContextSubset": constraints["EncryptionContextSubset"]}
    elif constraints.get("EncryptionContextEquals"):
        grant["constraints"] = {"encryptionContextEquals": constraints["EncryptionContextEquals"]}
    if raw.get("GrantId"):
        grant["grantId"] = raw["GrantId"]
    if raw.get("Name"):
        grant["name"] = raw["Name"]
    return grant
