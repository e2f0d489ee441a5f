"""Organizations change events -> the objects under them.

An SCP binds the caller: an object is under it when its role's account is. An RCP binds the
resource: an object is under it when its bucket's or one of its keys' accounts is. Which accounts a
policy binds is read through the operator's reader (:meth:`AwsReader.org_policy_reach`): for an
attach or a detach the one target of the call, for a content change every target it has now; an
account move changes what binds the objects of that account, and needs no read.

An object whose role is not resolved yet counts as under an SCP (a bucket never read is taken to
be in the operator's own account, as the reader takes it): a pass too many is cheap, a pass missed shows a stale verdict until the interval.
A policy detached and deleted before its detach is read has no type left to read: its target
still says which accounts it reached, and the objects under it either as an SCP or as an RCP are
affected. Where the reach cannot be read (the reader refused, a content change of a policy gone
since, AWS down), every object is affected, as without this narrowing, and the caller counts why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..aws.errors import AwsError
from ..aws.ports import RCP, SCP, AwsReader, OrgReach


@dataclass(frozen=True)
class Accounts:
    """The accounts whose Organizations policies decide one object's upload."""

    caller: str | None  # the role's account; None while no role is resolved
    resources: frozenset[str] | None  # the bucket's and keys' accounts; None while one is unknown

    def bound_by(self, reach: OrgReach) -> bool:
        if reach.policy_type == SCP:
            return self.caller is None or reach.accounts is None or self.caller in reach.accounts
        if reach.policy_type == RCP:
            return self.resources is None or reach.accounts is None or bool(self.resources & reach.accounts)
        if reach.policy_type is None:  # deleted before it was read: it was one or the other
            return self.bound_by(replace(reach, policy_type=SCP)) or self.bound_by(
                replace(reach, policy_type=RCP)
            )
        return False  # tag, backup, AI opt-out policies: no upload consults them

    def within(self, account: str) -> bool:
        return self.caller in (None, account) or self.resources is None or account in self.resources


@dataclass(frozen=True)
class Scope:
    uids: set[str]
    unscoped: str | None = None  # why every object is affected: the read's error code


def under_policy(
    reader: AwsReader | None,
    policy_id: str,
    target: str | None,
    objects: Sequence[tuple[str, Accounts]],
) -> Scope:
    """The objects ``policy_id`` binds through ``target`` (an attach or a detach) or, with none,
    through every target it has now (a content change)."""
    everything = {uid for uid, _ in objects}
    if reader is None:
        return Scope(everything, "NoReader")
    try:
        reach = reader.org_policy_reach(policy_id, (target,) if target else None)
    except AwsError as exc:
        return Scope(everything, exc.code or type(exc).__name__)
    return Scope({uid for uid, accounts in objects if accounts.bound_by(reach)})


def in_account(account: str, objects: Sequence[tuple[str, Accounts]]) -> set[str]:
    """The objects an account moved between OUs could change: its role or a resource is in it."""
    return {uid for uid, accounts in objects if accounts.within(account)}
