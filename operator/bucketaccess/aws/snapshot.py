"""AWS reads -> the access scenario (docs/scenario.md), the very data ``explain`` takes.

What could not be read goes into the scenario's ``unknown`` map (check -> reason, message), so a
snapshot written to a file and explained offline gives the identical verdict. Only a total
outage (AWS unreachable) escapes as :class:`AwsUnavailable`: then there is no verdict at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..access.intent import SessionIntent, UploadIntent
from ..access.scenario import KeyState
from ..policy import Arn
from ..vocabulary import ConditionType, IdentitySource, Reason
from .errors import AwsError, AwsUnavailable, NotFound
from .ports import AwsReader, BucketInfo, KeyInfo, RoleInfo

MANAGED_S3_ALIAS = "alias/aws/s3"
# The layers an unreadable bucket leaves unknown (KMSKeyUsable too: the key may be its default one).
_BUCKET_LAYERS = (
    ConditionType.BucketPolicyAllows,
    ConditionType.BucketACLAllows,
    ConditionType.PublicAccessBlockAllows,
    ConditionType.KMSKeyUsable,
)


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    scenarios: tuple[dict[str, Any], ...]  # the upload first, then one per extra action
    bucket_name: str
    role_arn: str  # as AWS knows it (with its path), or as asked when the role is missing
    bucket_account: str | None
    key_arn: str | None  # the customer-managed key the upload would use, when known
    default_key_arn: str | None = None  # the key of the bucket's default encryption, as KMS names it
    # this object's uploads use an S3 Bucket Key (their header, else the bucket default)
    bucket_key: bool = False
    public_acls_blocked: bool = False  # Block Public Access refuses or ignores public ACLs here
    role_missing: bool = False  # the role does not exist


Unknown = dict[ConditionType, dict[str, str]]  # the scenario's ``unknown``: layer -> reason, message


def _unknown(unknown: Unknown, checks: tuple[ConditionType, ...], exc: AwsError) -> None:
    for check in checks:
        unknown.setdefault(check, {"reason": exc.reason, "message": exc.message})


def _role_block(reader: AwsReader, arn: str, unknown: Unknown) -> tuple[dict[str, Any], str]:
    try:
        role = reader.role(arn)
    except NotFound:
        return {"exists": False}, arn
    except AwsUnavailable:
        raise
    except AwsError as exc:
        _unknown(unknown, (ConditionType.IdentityPolicyAllows, ConditionType.PermissionsBoundaryAllows), exc)
        return {}, arn
    if role.arn != arn:
        # IAM reads a role by its name alone; a spec ARN whose path (or case) differs names a
        # role that does not exist, and AWS would refuse it as a principal
        return {"exists": False}, arn
    block: dict[str, Any] = {"policies": _policies(role)}
    if role.unique_id:
        block["uniqueId"] = role.unique_id
    if role.tags:
        block["tags"] = dict(role.tags)
    if role.boundary is not None:
        block["permissionsBoundary"] = {"name": role.boundary[0], "document": role.boundary[1]}
    return block, role.arn


def _policies(role: RoleInfo) -> list[dict[str, Any]]:
    return [{"name": n, "document": d} for n, d in (*role.inline, *role.managed)]


def _trusting_role(reader: AwsReader, arn: str, noun: str, unknown: Unknown) -> RoleInfo | None:
    """A role on the way to the session, with its trust policy; None (and why, in ``unknown``)
    when it cannot be had."""

    def unreadable(reason: Reason, message: str) -> None:
        unknown.setdefault(ConditionType.RoleAssumable, {"reason": reason, "message": message})

    try:
        role = reader.role(arn)
    except NotFound:
        unreadable(Reason.RoleNotFound, f"{noun} {arn} does not exist: the workload cannot obtain it")
        return None
    except AwsUnavailable:
        raise
    except AwsError as exc:
        unreadable(exc.reason, f"the trust policy of {arn} could not be read: {exc.message}")
        return None
    if role.trust is None:
        unreadable(Reason.AWSError, f"iam:GetRole returned no trust policy for {arn}")
        return None
    return role


def _session_block(reader: AwsReader, s: SessionIntent, unknown: Unknown) -> dict[str, Any] | None:
    """The scenario's ``session``: the trust policies of the roles on the way to the session (the
    first role is the upload's own unless there is a target: the cache reads it once)."""
    first = _trusting_role(reader, s.role_arn, "role", unknown)
    if first is None or first.trust is None:
        return None
    block: dict[str, Any] = {
        "source": s.source,
        "namespace": s.namespace,
        "serviceAccount": s.service_account,
        "roleArn": s.role_arn,
        "trustPolicy": first.trust,
    }
    if s.source is IdentitySource.IRSA:
        if not s.oidc_issuer:
            named = _trusted_issuer(first.trust)
            if named is not None:
                # not configured: evaluate for the issuer the trust policy names, and say so
                block["oidcIssuer"] = named
                block["oidcIssuerConfirmed"] = False
                return _with_oidc_provider(reader, block, unknown)
            unknown.setdefault(
                ConditionType.RoleAssumable,
                {
                    "reason": Reason.OIDCIssuerUnknown,
                    "message": "the cluster's OIDC issuer is not known: start the operator with --cluster-name "
                    "(it reads the issuer with eks:DescribeCluster) or --oidc-issuer",
                },
            )
            return None
        block["oidcIssuer"] = s.oidc_issuer
        return _with_oidc_provider(reader, block, unknown)
    block["sessionTags"] = s.session_tags
    if s.cluster_arn:
        block["cluster"] = s.cluster_arn
    if s.association_id:
        block["associationId"] = s.association_id
    if s.session_policy is not None:
        block["policy"] = s.session_policy
    if s.target_role_arn:
        target = _trusting_role(reader, s.target_role_arn, "target role", unknown)
        if target is None:
            return None
        block["targetRole"] = {"arn": target.arn, "trustPolicy": target.trust}
        if s.external_id:
            block["targetRole"]["externalId"] = s.external_id
        block["rolePolicies"] = _policies(first)
    return block


def _with_oidc_provider(
    reader: AwsReader, block: dict[str, Any], unknown: dict[ConditionType, dict[str, str]]
) -> dict[str, Any]:
    """IRSA: the role's account's IAM OIDC provider for the issuer, whose client IDs STS checks a
    token's ``aud`` against; none there and STS refuses every token (``oidcProvider: false``)."""
    account, issuer = block["roleArn"].split(":")[4], block["oidcIssuer"]
    try:
        provider = reader.oidc_provider(account, issuer)
    except AwsUnavailable:
        raise
    except AwsError as exc:
        message = f"the IAM OIDC provider of account {account} for {issuer} could not be read: {exc.message}"
        unknown.setdefault(ConditionType.RoleAssumable, {"reason": exc.reason, "message": message})
        return block
    if provider is None:
        block["oidcProvider"] = False
    else:
        block["oidcProviderClientIds"] = list(provider.client_ids)
    return block


def _trusted_issuer(trust: dict[str, Any]) -> str | None:
    """The OIDC issuer a trust policy's web-identity Allow names (the first, as an https URL)."""
    statements = trust.get("Statement") or []
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal")
        federated = principal.get("Federated") if isinstance(principal, dict) else None
        for arn in [federated] if isinstance(federated, str) else federated or []:
            if isinstance(arn, str) and ":oidc-provider/" in arn:
                return "https://" + arn.split(":oidc-provider/", 1)[1]
    return None


def _bucket_block(info: BucketInfo, account_pab: dict[str, bool] | None) -> dict[str, Any]:
    block: dict[str, Any] = {"account": info.account, "ownership": info.ownership}
    if info.policy is not None:
        block["policy"] = info.policy
    if info.acl is not None:
        block["acl"] = info.acl
    if info.owner_canonical_id:
        block["canonicalIds"] = {info.account: info.owner_canonical_id}
    if info.public_access_block:
        block["publicAccessBlock"] = info.public_access_block
    if account_pab:
        block["accountPublicAccessBlock"] = account_pab
    if info.encryption is not None:
        block["encryption"] = dict(info.encryption)
    return block


def _key_entry(key: KeyInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "account": key.account,
        "manager": key.manager,
        "state": key.state if key.state in ("Enabled", "Disabled", "PendingDeletion") else "Disabled",
        "aliases": list(key.aliases),
        "grants": [dict(g) for g in key.grants],
    }
    if key.policy is not None:
        entry["policy"] = key.policy
    if key.origin != "AWS_KMS":
        entry["origin"] = key.origin
    if key.multi_region:
        entry["multiRegion"] = True
        if key.multi_region_key_type:
            entry["multiRegionKeyType"] = key.multi_region_key_type
    return entry


def default_key(encryption: dict[str, Any] | None, named: str | None) -> str | None:
    """The bucket default's key as an ARN, when it can be told from the named key's ARN alone
    (``named`` itself when it is the default)."""
    return _default_key(encryption, named, named)


def _default_key(encryption: dict[str, Any] | None, used_ref: str | None, used_arn: str | None) -> str | None:
    """The bucket default's key as an ARN, when it can be told without another read."""
    if not encryption or not str(encryption.get("algorithm", "")).startswith("aws:kms"):
        return None
    ref = encryption.get("kmsKeyArn")
    if not ref:
        return None
    if used_arn and (ref == used_ref or used_arn == ref or used_arn.endswith(f"/{ref}")):
        return used_arn
    return str(ref) if str(ref).startswith("arn:") else None


def take(reader: AwsReader, intent: UploadIntent) -> Snapshot:
    """Read everything one verification consults; raises AwsUnavailable only when AWS is down.

    One reader per block of the scenario, in a fixed order: each notes in ``unknown`` what it
    could not read, and that order is the order of the scenario's ``unknown`` map.
    """
    unknown: Unknown = {}
    identity, principal = _role_block(reader, intent.role_arn, unknown)
    session = _session_block(reader, intent.session, unknown) if intent.session else None
    role_account = Arn.parse(principal).account
    bucket = _read_bucket(reader, intent.bucket, unknown)
    key_ref = _upload_key_ref(intent, bucket.encryption)
    keys, key_arn = _read_key(reader, key_ref, bucket, role_account, unknown) if key_ref else ({}, None)
    endpoint = (
        _read_endpoint(reader, intent.vpc_endpoint, bucket.region, unknown) if intent.vpc_endpoint else None
    )
    accounts = tuple(a for a in {role_account, bucket.account, *(Arn.parse(k).account for k in keys)} if a)
    organization = _read_organization(reader, accounts, unknown)
    # what every scenario holds beside its request, in the order of a scenario's keys
    shared: dict[str, Any] = {"identity": identity, "bucket": bucket.block}
    if keys:
        shared["kms"] = {"keys": keys}
    if organization is not None:
        shared["organization"] = organization
    if session is not None:
        shared["session"] = session
    if unknown:
        shared["unknown"] = unknown
    return Snapshot(
        scenarios=_scenarios(intent.requests(principal), bucket.region, endpoint, shared),
        bucket_name=intent.bucket,
        role_arn=principal,
        bucket_account=bucket.account,
        key_arn=key_arn if keys.get(key_arn or "", {}).get("manager") != "AWS" else None,
        default_key_arn=_default_key(bucket.encryption, key_ref, key_arn),
        bucket_key=(
            intent.bucket_key
            if intent.bucket_key is not None
            else bool(bucket.encryption and bucket.encryption.get("bucketKeyEnabled"))
        ),
        public_acls_blocked=_public_acls_blocked(bucket.block),
        role_missing=identity.get("exists") is False,
    )


@dataclass(frozen=True, kw_only=True)
class _BucketRead:
    """The bucket as read: its scenario block, and what the later reads need of it."""

    block: dict[str, Any]  # {} when unreadable, {"exists": False} when missing
    region: str = "us-east-1"  # where its key and endpoint are read when the bucket cannot be
    account: str | None = None
    encryption: dict[str, Any] | None = None  # as S3 returned it; the block holds a copy


def _read_bucket(reader: AwsReader, name: str, unknown: Unknown) -> _BucketRead:
    try:
        info = reader.bucket(name)
    except NotFound:
        return _BucketRead(block={"exists": False})
    except AwsUnavailable:
        raise
    except AwsError as exc:
        _unknown(unknown, _BUCKET_LAYERS, exc)
        return _BucketRead(block={})
    account_pab = _account_public_access_block(reader, info.account, unknown)
    return _BucketRead(
        block=_bucket_block(info, account_pab),
        region=info.region,
        account=info.account,
        encryption=info.encryption,
    )


def _account_public_access_block(reader: AwsReader, account: str, unknown: Unknown) -> dict[str, bool] | None:
    try:
        return reader.account_public_access_block(account)
    except AwsUnavailable:
        raise
    except AwsError as exc:
        _unknown(unknown, (ConditionType.PublicAccessBlockAllows,), exc)
        return None


def _upload_key_ref(intent: UploadIntent, encryption: dict[str, Any] | None) -> str | None:
    """Which key the upload would encrypt with: the header's, else the bucket default's."""
    if intent.sse == "aws:kms":
        return intent.kms_key
    if intent.sse is None and encryption and str(encryption.get("algorithm", "")).startswith("aws:kms"):
        return encryption.get("kmsKeyArn")
    return None


def _read_key(
    reader: AwsReader,
    key_ref: str,
    bucket: _BucketRead,
    role_account: str,
    unknown: Unknown,
) -> tuple[dict[str, Any], str | None]:
    """The scenario's ``kms.keys`` for the upload's key, and its ARN as KMS names it (None when
    the key could not be read)."""
    try:
        key = reader.key(key_ref, bucket.region)
    except NotFound:
        missing = _missing_key_arn(key_ref, bucket.region, bucket.account or role_account)
        _name_default_key(bucket, key_ref, missing)
        return {
            missing: {
                "state": KeyState.NotFound,
                "aliases": [key_ref.split(":")[-1]] if "alias/" in key_ref else [],
            }
        }, None
    except AwsUnavailable:
        raise
    except AwsError as exc:
        _unknown(unknown, (ConditionType.KMSKeyUsable,), exc)
        return {}, None
    _name_default_key(bucket, key_ref, key.arn)
    return {key.arn: _key_entry(key)}, key.arn


def _missing_key_arn(key_ref: str, region: str, account: str) -> str:
    """The ARN a key that does not exist is reported under: the reference when it is a key ARN,
    else the ARN the key would have in the bucket's region and account."""
    if key_ref.startswith("arn:aws:kms:") and ":key/" in key_ref:
        return key_ref
    return f"arn:aws:kms:{region}:{account}:key/{key_ref.rsplit('/', 1)[-1]}"


def _name_default_key(bucket: _BucketRead, key_ref: str, key_arn: str) -> None:
    # The bucket default may name its key by alias or id: the block names it by the ARN the
    # scenario's keys are listed under, so that the two meet.
    if bucket.encryption and bucket.encryption.get("kmsKeyArn") == key_ref:
        bucket.block["encryption"]["kmsKeyArn"] = key_arn


def _read_endpoint(reader: AwsReader, endpoint_id: str, region: str, unknown: Unknown) -> dict[str, Any]:
    """The request's ``vpcEndpoint``: its id, its policy when it has one (none allows all), its VPC
    and its owner's account (aws:SourceVpc, aws:VpceAccount)."""
    try:
        endpoint = reader.vpc_endpoint(endpoint_id, region)
    except AwsUnavailable:
        raise
    except AwsError as exc:
        _unknown(unknown, (ConditionType.VPCEndpointPolicyAllows,), exc)
        return {"id": endpoint_id}
    out: dict[str, Any] = {"id": endpoint_id}
    if endpoint.policy is not None:
        out["policy"] = endpoint.policy
    if endpoint.vpc_id is not None:
        out["vpcId"] = endpoint.vpc_id
    if endpoint.owner is not None:
        out["account"] = endpoint.owner
    return out


def _read_organization(
    reader: AwsReader, accounts: tuple[str, ...], unknown: Unknown
) -> dict[str, Any] | None:
    """The scenario's ``organization``: the SCP and RCP chains of each account the request touches."""
    try:
        org = reader.organization(accounts)
    except AwsUnavailable:
        raise
    except AwsError as exc:
        reason = Reason.SCPsNotReadable
        message = f"the organization's SCPs and RCPs could not be read: {exc.message}; give the operator an org-reader role (--org-reader-role-arn)"
        unknown.setdefault(ConditionType.SCPAllows, {"reason": reason, "message": message})
        unknown.setdefault(ConditionType.RCPAllows, {"reason": reason, "message": message})
        return None
    if org is None:
        return None
    return {
        "id": org.id,
        "managementAccount": org.management_account,
        "accounts": {
            acct: {
                "scps": [[{"name": n, "document": d} for n, d in level] for level in chains.scps],
                "rcps": [[{"name": n, "document": d} for n, d in level] for level in chains.rcps if level],
            }
            for acct, chains in org.chains.items()
        },
    }


def _scenarios(
    requests: list[dict[str, Any]], region: str, endpoint: dict[str, Any] | None, shared: dict[str, Any]
) -> tuple[dict[str, Any], ...]:
    """One scenario per request; every block but the request is the same object in each."""
    scenarios = []
    for request in requests:
        if endpoint is not None:
            request["vpcEndpoint"] = endpoint
        scenarios.append({"region": region, "request": request, **shared})
    return tuple(scenarios)


def _public_acls_blocked(bucket_block: dict[str, Any]) -> bool:
    """Block Public Access, of the bucket or of its account, refuses or ignores public ACLs."""
    return any(
        bool((bucket_block.get(k) or {}).get(flag))
        for k in ("publicAccessBlock", "accountPublicAccessBlock")
        for flag in ("BlockPublicAcls", "IgnorePublicAcls")
    )
