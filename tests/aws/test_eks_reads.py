"""The operator's EKS reads through boto3, over real HTTP to the tests' own EKS endpoint
(tests/eks_endpoint.py; moto has no Pod Identity API): paging, every association field, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bucketaccess.aws.boto import BotoReader
from bucketaccess.aws.errors import NotFound
from devenv.moto_server import MotoServer
from tests.eks_endpoint import PAGE, EksEndpoint

ACCOUNT = "123456789012"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/READS"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"


@pytest.fixture
def eks(moto_env: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[EksEndpoint]:
    with EksEndpoint(ACCOUNT) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", endpoint.url)
        endpoint.state.clusters["prod"] = ISSUER
        yield endpoint


def test_cluster_arn_and_issuer(eks: EksEndpoint) -> None:
    found = BotoReader(region="us-east-1").cluster("prod")
    assert (found.name, found.arn, found.oidc_issuer) == (
        "prod",
        f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/prod",
        ISSUER,
    )
    assert eks.state.calls == ["DescribeCluster prod"]


def test_an_unknown_cluster_is_not_found(eks: EksEndpoint) -> None:
    with pytest.raises(NotFound):
        BotoReader(region="us-east-1").cluster("nope")


def test_associations_of_one_service_account_over_several_pages(eks: EksEndpoint) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
    }
    ids = [eks.state.associate("prod", "billing", "uploader", ROLE) for _ in range(PAGE + 1)]
    eks.state.associate("prod", "billing", "other", ROLE)
    target = eks.state.associate(
        "prod",
        "billing",
        "chained",
        ROLE,
        target_role_arn="arn:aws:iam::444455556666:role/writer",
        external_id="ext-1",
        disable_session_tags=True,
        policy=policy,
    )
    reader = BotoReader(region="us-east-1")
    found = reader.pod_identity_associations("prod", "billing", "uploader")
    assert [a.association_id for a in found] == ids  # every page, and only this ServiceAccount's
    assert eks.state.calls.count("ListPodIdentityAssociations prod") == 2
    (chained,) = reader.pod_identity_associations("prod", "billing", "chained")
    assert chained.association_id == target
    assert chained.target_role_arn == "arn:aws:iam::444455556666:role/writer"
    assert chained.external_id == "ext-1" and chained.disable_session_tags and chained.policy == policy
    assert reader.pod_identity_associations("prod", "payroll", "uploader") == ()
