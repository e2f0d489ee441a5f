"""Parsed IAM policy documents: frozen data, built once per distinct document."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .matchers import Matcher
from .operators import Operator
from .records import fast_init
from .variables import Template


class Effect(StrEnum):
    Allow = "Allow"
    Deny = "Deny"


class SetQualifier(StrEnum):
    NONE = ""
    ForAllValues = "ForAllValues"
    ForAnyValue = "ForAnyValue"


@fast_init
@dataclass(frozen=True, slots=True)
class Principals:
    """A Principal / NotPrincipal element; ``anyone`` is the bare ``"*"`` (or ``{"AWS": "*"}``)."""

    anyone: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class ConditionClause:
    """One ``operator: {key: values}`` pair of a Condition block, already split into its parts."""

    written: str  # the operator as written, qualifier and IfExists included, for explanations
    operator: Operator  # the registry's entry, e.g. StringNotLike (negated, "matches")
    qualifier: SetQualifier
    if_exists: bool
    key: str  # as written
    values: tuple[str, ...]
    # The values split into templates, when the policy's Version and the operator admit policy
    # variables and a value holds one; None otherwise (the values are compared as written).
    templates: tuple[Template, ...] | None = field(default=None, compare=False, repr=False)


@fast_init
@dataclass(frozen=True, slots=True)
class Statement:
    index: int
    sid: str | None
    effect: Effect
    principal: Principals | None
    not_principal: Principals | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[ConditionClause, ...]
    # compiled forms of Action/NotAction and Resource/NotResource (whichever is present)
    action_matcher: Matcher | None = field(default=None, compare=False, repr=False)
    resource_matcher: Matcher | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """The Sid when there is one, else the statement's position, for explanations."""
        return self.sid if self.sid else f"#{self.index}"


@fast_init
@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    statements: tuple[Statement, ...]

    @property
    def supports_variables(self) -> bool:
        # Policy variables exist only from version 2012-10-17; older documents take ${...} literally.
        return self.version == "2012-10-17"
