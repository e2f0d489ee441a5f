"""The request an evaluation answers: who asks, for which action on which resource, with which keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .records import fast_init


class PrincipalKind(StrEnum):
    AssumedRole = "AssumedRole"  # a role session (sts assumed-role ARN), or a role named directly
    User = "User"
    Account = "Account"  # the account's root user
    # Callers of a role trust policy that are not IAM identities (IAM "AWS JSON policy elements:
    # Principal"): an AWS service (EKS Pod Identity's pods.eks.amazonaws.com) and a web identity
    # federated through an OIDC provider (IRSA); ``arn`` holds the service name or the provider ARN.
    Service = "Service"
    Federated = "Federated"


@fast_init
@dataclass(frozen=True, slots=True)
class Caller:
    """Every identity AWS sees in one caller, for Principal / NotPrincipal matching."""

    arn: str  # the principal as it signs: session ARN, user ARN or root ARN
    account: str
    kind: PrincipalKind
    role_arn: str | None = None  # the role behind a session, with its path
    session_arn: str | None = None  # only when the session ARN is known
    service_linked: bool = False
    # The role or user has a permissions boundary: a resource-policy Deny with NotPrincipal then
    # applies to it whatever NotPrincipal lists (IAM "NotPrincipal", "Permissions boundaries").
    has_boundary: bool = False

    @property
    def root_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:root"


@fast_init
@dataclass(frozen=True, slots=True)
class RequestContext:
    action: str
    resource: str
    caller: Caller
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lower-cased key -> values

    def values(self, key: str) -> tuple[str, ...] | None:
        return self.keys.get(key.lower())

    def single(self, key: str) -> str | None:
        found = self.keys.get(key.lower())
        return found[0] if found else None


def normalize_keys(raw: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    """Lower-case the keys (IAM matches key names case-insensitively) and make every value a tuple."""
    out: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        if isinstance(value, list | tuple):
            out[key.lower()] = tuple(_text(v) for v in value)
        else:
            out[key.lower()] = (_text(value),)
    return out


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
