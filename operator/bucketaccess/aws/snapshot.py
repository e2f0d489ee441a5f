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
    bucket_key: bool = (
        False  # this object's uploads use an S3 Bucket Key (their header, else the bucket default)
    )
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
    """Read everything one verification consults; raises AwsUnavailable only when AWS is down."""
    unknown: Unknown = {}
    identity, principal = _role_block(reader, intent.role_arn, unknown)
    session = _session_block(reader, intent.session, unknown) if intent.session else None
    role_account = principal.split(":")[4]
    region = "us-east-1"
    bucket_block: dict[str, Any] = {}
    bucket_account: str | None = None
    bucket_encryption: dict[str, Any] | None = None
    try:
        info = reader.bucket(intent.bucket)
        region, bucket_account, bucket_encryption = info.region, info.account, info.encryption
        account_pab = None
        try:
            account_pab = reader.account_public_access_block(info.account)
        except AwsUnavailable:
            raise
        except AwsError as exc:
            _unknown(unknown, (ConditionType.PublicAccessBlockAllows,), exc)
        bucket_block = _bucket_block(info, account_pab)
    except NotFound:
        bucket_block = {"exists": False}
    except AwsUnavailable:
        raise
    except AwsError as exc:
        _unknown(unknown, _BUCKET_LAYERS, exc)

    # Which key the upload would encrypt with: the header's, else the bucket default's.
    key_ref = None
    if intent.sse == "aws:kms":
        key_ref = intent.kms_key
    elif (
        intent.sse is None
        and bucket_encryption
        and str(bucket_encryption.get("algorithm", "")).startswith("aws:kms")
    ):
        key_ref = bucket_encryption.get("kmsKeyArn")
    keys: dict[str, Any] = {}
    key_arn = None
    if key_ref:
        try:
            key = reader.key(key_ref, region)
            key_arn = key.arn
            keys[key.arn] = _key_entry(key)
            if bucket_encryption and bucket_encryption.get("kmsKeyArn") == key_ref:
                bucket_block["encryption"]["kmsKeyArn"] = key.arn
        except NotFound:
            missing = key_ref if key_ref.startswith("arn:aws:kms:") and ":key/" in key_ref else None
            missing = (
                missing
                or f"arn:aws:kms:{region}:{bucket_account or role_account}:key/{key_ref.rsplit('/', 1)[-1]}"
            )
            keys[missing] = {
                "state": KeyState.NotFound,
                "aliases": [key_ref.split(":")[-1]] if "alias/" in key_ref else [],
            }
            if bucket_encryption and bucket_encryption.get("kmsKeyArn") == key_ref:
                bucket_block["encryption"]["kmsKeyArn"] = missing
        except AwsUnavailable:
            raise
        except AwsError as exc:
            _unknown(unknown, (ConditionType.KMSKeyUsable,), exc)

    endpoint = None
    if intent.vpc_endpoint:
        try:
            endpoint = {
                "id": intent.vpc_endpoint,
                "policy": reader.vpc_endpoint_policy(intent.vpc_endpoint, region),
            }
        except AwsUnavailable:
            raise
        except AwsError as exc:
            _unknown(unknown, (ConditionType.VPCEndpointPolicyAllows,), exc)
            endpoint = {"id": intent.vpc_endpoint}
        if endpoint.get("policy") is None:
            endpoint.pop("policy", None)

    organization = None
    accounts = tuple(a for a in {role_account, bucket_account, *(k.split(":")[4] for k in keys)} if a)
    try:
        org = reader.organization(accounts)
        if org is not None:
            organization = {
                "id": org.id,
                "managementAccount": org.management_account,
                "accounts": {
                    acct: {
                        "scps": [[{"name": n, "document": d} for n, d in level] for level in chains.scps],
                        "rcps": [
                            [{"name": n, "document": d} for n, d in level] for level in chains.rcps if level
                        ],
                    }
                    for acct, chains in org.chains.items()
                },
            }
    except AwsUnavailable:
        raise
    except AwsError as exc:
        reason = Reason.SCPsNotReadable
        message = f"the organization's SCPs and RCPs could not be read: {exc.message}; give the operator an org-reader role (--org-reader-role-arn)"
        unknown.setdefault(ConditionType.SCPAllows, {"reason": reason, "message": message})
        unknown.setdefault(ConditionType.RCPAllows, {"reason": reason, "message": message})

    scenarios = []
    for request in intent.requests(principal):
        if endpoint is not None:
            request["vpcEndpoint"] = endpoint
        scenario: dict[str, Any] = {
            "region": region,
            "request": request,
            "identity": identity,
            "bucket": bucket_block,
        }
        if keys:
            scenario["kms"] = {"keys": keys}
        if organization is not None:
            scenario["organization"] = organization
        if session is not None:
            scenario["session"] = session
        if unknown:
            scenario["unknown"] = unknown
        scenarios.append(scenario)
    return Snapshot(
        scenarios=tuple(scenarios),
        bucket_name=intent.bucket,
        role_arn=principal,
        bucket_account=bucket_account,
        key_arn=key_arn if keys.get(key_arn or "", {}).get("manager") != "AWS" else None,
        default_key_arn=_default_key(bucket_encryption, key_ref, key_arn),
        bucket_key=(
            intent.bucket_key
            if intent.bucket_key is not None
            else bool(bucket_encryption and bucket_encryption.get("bucketKeyEnabled"))
        ),
        public_acls_blocked=any(
            bool((bucket_block.get(k) or {}).get(flag))
            for k in ("publicAccessBlock", "accountPublicAccessBlock")
            for flag in ("BlockPublicAcls", "IgnorePublicAcls")
        ),
        role_missing=identity.get("exists") is False,
    )
