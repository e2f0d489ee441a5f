"""Callers of a role trust policy that are not IAM identities: a service principal (EKS Pod
Identity) and a federated web identity (IRSA), and trust statements without a Resource."""

from __future__ import annotations

import pytest

from bucketaccess.policy import Caller, InvalidInput, PolicyKind, PrincipalKind, Scope, parse_policy
from bucketaccess.policy.model import Principals
from bucketaccess.policy.statements import not_principal_applies, principal_scope

ACCOUNT = "111122223333"
PODS = Caller("pods.eks.amazonaws.com", ACCOUNT, PrincipalKind.Service)
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
WEB = Caller(PROVIDER, ACCOUNT, PrincipalKind.Federated)
ROLE = Caller(
    f"arn:aws:iam::{ACCOUNT}:role/app", ACCOUNT, PrincipalKind.AssumedRole, f"arn:aws:iam::{ACCOUNT}:role/app"
)


@pytest.mark.parametrize(
    ("principals", "caller", "scope"),
    [
        (Principals(service=("pods.eks.amazonaws.com",)), PODS, Scope.Principal),
        (Principals(service=("ec2.amazonaws.com",)), PODS, None),
        (Principals(aws=(f"arn:aws:iam::{ACCOUNT}:root",)), PODS, None),  # a service is no account member
        (Principals(federated=(PROVIDER,)), WEB, Scope.Principal),
        (Principals(federated=(PROVIDER + "X",)), WEB, None),
        (Principals(service=("pods.eks.amazonaws.com",)), WEB, None),
        (Principals(anyone=True), WEB, Scope.Anyone),
        (Principals(federated=(PROVIDER,)), ROLE, None),  # an IAM role is not the web identity
    ],
)
def test_principal_scope_of_non_iam_callers(
    principals: Principals, caller: Caller, scope: Scope | None
) -> None:
    assert principal_scope(principals, caller) == scope


def test_not_principal_spares_a_listed_service_only() -> None:
    assert not not_principal_applies(Principals(service=("pods.eks.amazonaws.com",)), PODS)
    assert not_principal_applies(Principals(service=("ec2.amazonaws.com",)), PODS)
    assert not_principal_applies(Principals(aws=(f"arn:aws:iam::{ACCOUNT}:root",)), PODS)
    assert not not_principal_applies(Principals(federated=(PROVIDER,)), WEB)


def test_a_trust_statement_may_leave_resource_out_and_covers_the_role() -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    assert parse_policy(doc, "trust", PolicyKind.Trust).statements[0].resources == ("*",)
    with pytest.raises(InvalidInput, match="Resource"):
        parse_policy(doc, "bucket", PolicyKind.Resource)


def test_a_trust_statement_needs_a_principal() -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    with pytest.raises(InvalidInput, match="Principal"):
        parse_policy(doc, "trust", PolicyKind.Trust)
