"""The Arn value: parsed by field, refused when it is not an ARN, printed back as it was read.

IAM User Guide, "IAM identifiers" > "IAM ARNs", and the Amazon Resource Names reference:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
"""

from __future__ import annotations

import pytest

from bucketaccess.policy.arn import Arn

PARSED = [
    pytest.param(
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab",
        ("aws", "kms", "eu-west-1", "111122223333", "key/1234abcd-12ab"),
        ("key", "1234abcd-12ab"),
        id="kms-key",
    ),
    pytest.param(
        "arn:aws:kms:us-east-1:111122223333:alias/aws/s3",
        ("aws", "kms", "us-east-1", "111122223333", "alias/aws/s3"),
        ("alias", "aws/s3"),
        id="kms-alias-with-slash",
    ),
    pytest.param(
        "arn:aws:iam::111122223333:role/team/uploader",
        ("aws", "iam", "", "111122223333", "role/team/uploader"),
        ("role", "team/uploader"),
        id="iam-role-with-path-no-region",
    ),
    pytest.param(
        "arn:aws:iam::111122223333:root",
        ("aws", "iam", "", "111122223333", "root"),
        ("", "root"),
        id="account-root-no-type",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/a/b.txt",
        ("aws", "s3", "", "", "bucket/a/b.txt"),
        ("bucket", "a/b.txt"),
        id="s3-object-no-account-first-segment-is-bucket",
    ),
    pytest.param(
        "arn:aws-cn:logs:cn-north-1:111122223333:log-group:app:*",
        ("aws-cn", "logs", "cn-north-1", "111122223333", "log-group:app:*"),
        ("log-group", "app:*"),
        id="colons-in-resource-other-partition",
    ),
]


@pytest.mark.parametrize(("text", "fields", "typed"), PARSED)
def test_parse_reads_each_field_by_name(text: str, fields: tuple[str, ...], typed: tuple[str, str]) -> None:
    arn = Arn.parse(text)
    assert (arn.partition, arn.service, arn.region, arn.account, arn.resource) == fields
    assert (arn.resource_type, arn.resource_id) == typed
    assert str(arn) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("alias/aws/s3", id="alias-name-not-arn"),
        pytest.param("1234abcd-12ab", id="bare-key-id"),
        pytest.param("arn:aws:kms:alias/x", id="too-few-parts"),
        pytest.param("urn:aws:kms:us-east-1:111122223333:key/1", id="not-arn-prefix"),
        pytest.param("arn::kms:us-east-1:111122223333:key/1", id="no-partition"),
        pytest.param("arn:aws::us-east-1:111122223333:key/1", id="no-service"),
        pytest.param("arn:aws:kms:us-east-1:111122223333:", id="no-resource"),
    ],
)
def test_parse_refuses_what_is_not_an_arn(text: str) -> None:
    with pytest.raises(ValueError, match="not an ARN"):
        Arn.parse(text)
