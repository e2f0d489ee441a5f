"""From a ServiceAccount to the session that uploads: IRSA or EKS Pod Identity, which one wins,
and the RoleAssumable and SessionPolicyAllows conditions a verification writes (in-memory AWS)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from bucketaccess.aws.cache import CachedReader, TTLCache
from bucketaccess.aws.errors import OperatorAccessDenied
from bucketaccess.aws.memory import MemoryAws
from bucketaccess.aws.ports import ClusterInfo, PodIdentityAssociation
from bucketaccess.reconcile import Deps, Outcome, RoleResolutionError, Subject, verify
from bucketaccess.resources import BucketAccessSpec
from bucketaccess.vocabulary import Reason
from tests.unit.reconcile.test_pass import ACCOUNT, BUCKET, class_spec

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
V = "2012-10-17"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/uploader"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/UNIT"
HOST = ISSUER.removeprefix("https://")
CLUSTER = ClusterInfo(name="prod", arn=f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/prod", oidc_issuer=ISSUER)
PUT = {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}
ABAC = {
    "Version": V,
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/${{aws:PrincipalTag/kubernetes-namespace}}/*",
        }
    ],
}
POD_TRUST = {
    "Version": V,
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}


def irsa_trust(sa: str) -> dict[str, Any]:
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}"
    return {
        "Version": V,
        "Statement": [
            {
                "Sid": "Irsa",
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{HOST}:sub": f"system:serviceaccount:team-a:{sa}"}},
            }
        ],
    }


def sa_subject(prefix: str = "team-a/") -> Subject:
    spec = {"className": "c", "bucket": BUCKET, "prefix": prefix, "role": {"serviceAccountName": "uploader"}}
    return Subject(
        namespace="team-a",
        name="ba",
        spec=BucketAccessSpec.parse(spec),
        class_spec=class_spec(bucket_policy="Observe"),
        namespace_labels={"team": "a"},
    )


def deps(
    aws: MemoryAws, annotation: str | None, cluster: str | None = "prod", issuer: str | None = None
) -> Deps:
    def resolve(namespace: str, name: str) -> str:
        if annotation is None:
            raise RoleResolutionError(
                Reason.RoleAnnotationMissing, f"ServiceAccount {namespace}/{name} has no annotation"
            )
        return annotation

    return Deps(
        reader=aws, resolve_service_account=resolve, now=lambda: NOW, cluster_name=cluster, oidc_issuer=issuer
    )


def world(trust: dict[str, Any], *policies: dict[str, Any]) -> MemoryAws:
    aws = MemoryAws(ACCOUNT)
    aws.add_role(ROLE, *(policies or (PUT,)), trust=trust)
    aws.add_bucket(BUCKET)
    aws.clusters["prod"] = CLUSTER
    aws.add_oidc_provider(ISSUER)
    return aws


def association(role_arn: str, **fields: Any) -> PodIdentityAssociation:
    """The one association of team-a/uploader in cluster prod."""
    return PodIdentityAssociation(
        association_id="a-1",
        cluster="prod",
        namespace="team-a",
        service_account="uploader",
        role_arn=role_arn,
        **fields,
    )


def cond(outcome: Outcome, type_: str) -> tuple[str, str, str]:
    found = next(c for c in (outcome.ready, *outcome.conditions) if c.type == type_)
    return str(found.status), str(found.reason), found.message


def test_irsa_with_a_sub_for_another_service_account_cannot_obtain_the_role() -> None:
    out = verify(sa_subject(), deps(world(irsa_trust("other")), ROLE))
    status, reason, message = cond(out, "RoleAssumable")
    assert (status, reason) == ("False", "TrustConditionNotMet")
    assert (
        "system:serviceaccount:team-a:uploader" in message and "system:serviceaccount:team-a:other" in message
    )
    assert cond(out, "Ready")[:2] == ("False", "TrustConditionNotMet")
    assert out.session is not None and out.session.as_status()["source"] == "IRSA"


def test_irsa_with_the_right_sub_is_ready() -> None:
    out = verify(sa_subject(), deps(world(irsa_trust("uploader")), ROLE))
    assert cond(out, "RoleAssumable")[:2] == ("True", "AllowedByStatement")
    assert cond(out, "Ready")[:2] == ("True", "UploadAllowed")


def test_irsa_without_a_configured_issuer_takes_the_one_the_trust_policy_names_and_says_so() -> None:
    out = verify(sa_subject(), deps(world(irsa_trust("uploader")), ROLE, cluster=None))
    status, reason, message = cond(out, "RoleAssumable")
    assert (
        (status, reason) == ("True", "IssuerNotConfirmed") and "--oidc-issuer" in message and HOST in message
    )
    assert cond(out, "Ready")[:2] == ("True", "UploadAllowed")
    wrong = verify(sa_subject(), deps(world(irsa_trust("other")), ROLE, cluster=None))
    status, reason, message = cond(wrong, "RoleAssumable")
    assert (status, reason) == ("False", "TrustConditionNotMet") and "not configured" in message


def test_irsa_without_an_issuer_anywhere_is_unknown_and_says_which_flag() -> None:
    out = verify(sa_subject(), deps(world(POD_TRUST), ROLE, cluster=None))
    status, reason, message = cond(out, "RoleAssumable")
    assert (status, reason) == ("Unknown", "OIDCIssuerUnknown") and "--oidc-issuer" in message


def test_the_issuer_flag_stands_in_for_the_cluster() -> None:
    out = verify(sa_subject(), deps(world(irsa_trust("uploader")), ROLE, cluster=None, issuer=ISSUER))
    assert cond(out, "RoleAssumable")[:2] == ("True", "AllowedByStatement")


def test_irsa_without_the_accounts_oidc_provider_is_refused_live() -> None:
    aws = world(irsa_trust("uploader"))
    aws.oidc_providers.clear()
    out = verify(sa_subject(), deps(aws, ROLE))
    status, reason, message = cond(out, "RoleAssumable")
    assert (status, reason) == ("False", "OIDCProviderMissing") and HOST in message and ACCOUNT in message
    assert cond(out, "Ready")[:2] == ("False", "OIDCProviderMissing")


def test_a_deleted_provider_no_longer_reads_true_once_the_cache_expires() -> None:
    aws = world(irsa_trust("uploader"))
    clock = [0.0]
    reader = CachedReader(aws, TTLCache(ttl=60, clock=lambda: clock[0]))
    before = verify(sa_subject(), replace(deps(aws, ROLE), reader=reader))
    assert cond(before, "RoleAssumable")[:2] == ("True", "AllowedByStatement")
    aws.oidc_providers.clear()
    clock[0] = 61.0
    after = verify(sa_subject(), replace(deps(aws, ROLE), reader=reader))
    assert cond(after, "RoleAssumable")[:2] == ("False", "OIDCProviderMissing")
    aws.add_oidc_provider(ISSUER)
    clock[0] = 122.0
    again = verify(sa_subject(), replace(deps(aws, ROLE), reader=reader))
    assert cond(again, "RoleAssumable")[:2] == ("True", "AllowedByStatement")


def test_an_audience_the_provider_does_not_list_is_refused_with_the_value_named() -> None:
    aws = world(irsa_trust("uploader"))
    aws.add_oidc_provider(ISSUER, client_ids=("other-audience",))
    out = verify(sa_subject(), deps(aws, ROLE))
    status, reason, message = cond(out, "RoleAssumable")
    assert (status, reason) == ("False", "OIDCAudienceNotAllowed")
    assert '"sts.amazonaws.com"' in message and "other-audience" in message


def test_an_unreadable_provider_is_unknown_with_the_action_named() -> None:
    aws = world(irsa_trust("uploader"))
    aws.fail(
        "iam:ListOpenIDConnectProviders",
        OperatorAccessDenied("iam:ListOpenIDConnectProviders", "not authorized", code="AccessDenied"),
    )
    out = verify(sa_subject(), deps(aws, ROLE))
    status, reason, message = cond(out, "RoleAssumable")
    assert (status, reason) == ("Unknown", "OperatorAccessDenied")
    assert "iam:ListOpenIDConnectProviders" in message


def test_an_annotation_naming_a_missing_role_cannot_be_assumed() -> None:
    aws = world(irsa_trust("uploader"))
    aws.roles.clear()
    out = verify(sa_subject(), deps(aws, ROLE))
    status, reason, message = cond(out, "RoleAssumable")
    assert (status, reason) == ("Unknown", "RoleNotFound") and ROLE in message
    assert cond(out, "IdentityPolicyAllows")[:2] == ("False", "RoleNotFound")


def test_the_provider_is_read_in_the_roles_account() -> None:
    aws = world(irsa_trust("uploader"))
    aws.oidc_providers.clear()
    aws.add_oidc_provider(ISSUER, account="444455556666")
    out = verify(sa_subject(), deps(aws, ROLE))
    assert cond(out, "RoleAssumable")[:2] == ("False", "OIDCProviderMissing")


def test_with_an_annotation_and_an_association_the_sdk_takes_irsa() -> None:
    aws = world(irsa_trust("uploader"))
    aws.associations.append(association(f"arn:aws:iam::{ACCOUNT}:role/other"))
    out = verify(sa_subject(), deps(aws, ROLE))
    assert out.session is not None and out.session.source == "IRSA" and out.role_arn == ROLE


def test_pod_identity_abac_on_the_namespace_tag() -> None:
    aws = world(POD_TRUST, ABAC)
    aws.associations.append(association(ROLE))
    out = verify(sa_subject("team-a/"), deps(aws, None))
    assert cond(out, "RoleAssumable")[:2] == ("True", "AllowedByStatement")
    assert cond(out, "Ready")[:2] == ("True", "UploadAllowed")
    assert out.session is not None
    assert out.session.as_status() == {
        "source": "PodIdentity",
        "roleArn": ROLE,
        "serviceAccount": "team-a/uploader",
        "associationId": "a-1",
        "sessionTags": True,
        "sessionPolicy": False,
        "cluster": "prod",
    }
    other = verify(sa_subject("payroll/"), deps(aws, None))
    status, _, message = cond(other, "IdentityPolicyAllows")
    assert status == "False" and "`${aws:PrincipalTag/kubernetes-namespace}` = `team-a`" in message


def test_pod_identity_session_policy_is_a_condition_of_its_own() -> None:
    aws = world(POD_TRUST)
    narrow = {
        "Version": V,
        "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/other/*"}
        ],
    }
    aws.associations.append(association(ROLE, disable_session_tags=True, policy=narrow))
    out = verify(sa_subject(), deps(aws, None))
    status, reason, message = cond(out, "SessionPolicyAllows")
    assert (status, reason) == ("False", "NoAllowStatement") and "a-1" in message
    assert cond(out, "Ready")[:2] == ("False", "NoAllowInSessionPolicy")


def test_without_annotation_or_cluster_the_message_names_the_flag() -> None:
    out = verify(sa_subject(), deps(world(POD_TRUST), None, cluster=None))
    status, reason, message = cond(out, "IdentityPolicyAllows")
    assert (status, reason) == ("False", "RoleAnnotationMissing") and "--cluster-name" in message


def test_without_annotation_or_association() -> None:
    out = verify(sa_subject(), deps(world(POD_TRUST), None))
    status, reason, message = cond(out, "IdentityPolicyAllows")
    assert (status, reason) == ("False", "NoPodIdentityAssociation") and "cluster prod" in message


@pytest.mark.parametrize("annotated", [True, False])
def test_a_role_named_in_the_spec_is_not_evaluated(annotated: bool) -> None:
    s = sa_subject()
    spec = BucketAccessSpec.parse(
        {"className": "c", "bucket": BUCKET, "prefix": "in/", "role": {"arn": ROLE}}
    )
    s = Subject(
        namespace=s.namespace,
        name=s.name,
        spec=spec,
        class_spec=s.class_spec,
        namespace_labels=s.namespace_labels,
    )
    out = verify(s, deps(world(POD_TRUST), ROLE if annotated else None))
    assert cond(out, "RoleAssumable")[:2] == ("True", "NotEvaluated")
    assert out.session is not None and out.session.as_status() == {"source": "RoleArn", "roleArn": ROLE}
