"""principal_scope: how directly a Principal's AWS list names the caller, through caller_scopes.

The rule, in the order it is decided for one value: "*" is anyone; the account id or its root ARN
is the account; the session ARN, or a user's own ARN, is the principal itself; the role ARN is the
role; anything else names nobody. Over a list the most direct wins. The table below states that
rule one value at a time and checks the lookup against it for every caller kind, also where one
value would match two ways.
"""

from __future__ import annotations

import itertools

import pytest

from bucketaccess.policy import Caller, PrincipalKind, Scope
from bucketaccess.policy.model import Principals
from bucketaccess.policy.statements import caller_scopes, principal_scope

ACCT = "111122223333"
ROLE = f"arn:aws:iam::{ACCT}:role/app"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/app/s1"
USER = f"arn:aws:iam::{ACCT}:user/alice"
ROOT = f"arn:aws:iam::{ACCT}:root"

CALLERS = {
    "session": Caller(SESSION, ACCT, PrincipalKind.AssumedRole, role_arn=ROLE, session_arn=SESSION),
    "role only": Caller(ROLE, ACCT, PrincipalKind.AssumedRole, role_arn=ROLE),
    "user": Caller(USER, ACCT, PrincipalKind.User),
    "root": Caller(ROOT, ACCT, PrincipalKind.Account),
    # a role whose ARN is written as its session's (a caller built from odd input): the session wins
    "session is role": Caller(ROLE, ACCT, PrincipalKind.AssumedRole, role_arn=ROLE, session_arn=ROLE),
}
VALUES = ["*", ACCT, ROOT, SESSION, USER, ROLE, "arn:aws:iam::999988887777:role/other", "444455556666"]


def one_value(value: str, caller: Caller) -> Scope | None:
    """The rule for one value, in the order it is decided."""
    if value == "*":
        return Scope.Anyone
    if value in (caller.account, caller.root_arn):
        return Scope.Account
    if caller.session_arn is not None and value == caller.session_arn:
        return Scope.Principal
    if caller.kind is PrincipalKind.User and value == caller.arn:
        return Scope.Principal
    if caller.role_arn is not None and value == caller.role_arn:
        return Scope.Role
    return None


@pytest.mark.parametrize("who", sorted(CALLERS))
def test_every_list_of_up_to_three_values_gets_the_most_direct_match(who: str) -> None:
    caller = CALLERS[who]
    scopes = caller_scopes(caller)
    for n in (1, 2, 3):
        for listed in itertools.combinations(VALUES, n):
            found = [s for s in (one_value(v, caller) for v in listed) if s is not None]
            expected = max(found) if found else None
            principals = Principals(aws=tuple(listed))
            assert principal_scope(principals, caller, scopes) == expected, listed
            assert principal_scope(principals, caller) == expected, listed  # builds its own table
    # the bare "*" (or {"AWS": "*"}) is anyone, whatever else is listed
    assert principal_scope(Principals(anyone=True, aws=(ROLE,)), caller, scopes) is Scope.Anyone
