"""The class as the tenancy boundary: each rule refuses by name, in order, and admits only what it lists."""

from __future__ import annotations

from typing import Any

import pytest

from bucketaccess.grants.admission import Request, admit
from bucketaccess.grants.plan import actions_for
from bucketaccess.resources import ClassSpec

ROLE = "arn:aws:iam::111122223333:role/team-a-uploader"
KEY = "arn:aws:kms:us-east-1:111122223333:key/k1"
OTHER_KEY = "arn:aws:kms:us-east-1:111122223333:key/secrets"


def cls(**fields: Any) -> ClassSpec:
    raw = {
        "namespaceSelector": {"matchLabels": {"team": "a"}},
        "buckets": ["uploads-*"],
        "prefixes": ["team-a/*"],
        "roles": ["arn:aws:iam::111122223333:role/team-a-*"],
        "reconcile": {"bucketPolicy": "Manage"},
        **fields,
    }
    return ClassSpec.parse(raw)


def req(**fields: Any) -> Request:
    values: dict[str, Any] = {
        "class_name": "c",
        "namespace": "team-a",
        "bucket": "uploads-1",
        "prefix": "team-a/in/",
        "role_arn": ROLE,
        "actions": actions_for([], acl=False),
        **fields,
    }
    return Request(**values)


@pytest.mark.parametrize(
    ("request_", "klass", "labels", "reason"),
    [
        pytest.param(req(), cls(), {"team": "a"}, "AdmittedByClass", id="admitted"),
        pytest.param(req(), None, {"team": "a"}, "ClassNotFound", id="no-class"),
        pytest.param(req(), cls(), {"team": "b"}, "NamespaceNotAdmitted", id="other-namespace"),
        pytest.param(req(bucket="secrets"), cls(), {"team": "a"}, "BucketNotAdmitted", id="other-bucket"),
        pytest.param(req(prefix="team-b/"), cls(), {"team": "a"}, "PrefixNotAdmitted", id="other-prefix"),
        pytest.param(req(prefix=""), cls(), {"team": "a"}, "PrefixNotAdmitted", id="whole-bucket-needs-star"),
        pytest.param(req(role_arn=None), cls(), {"team": "a"}, "RoleNotAdmitted", id="role-unresolved"),
        pytest.param(
            req(role_arn="arn:aws:iam::111122223333:role/admin"),
            cls(),
            {"team": "a"},
            "RoleNotAdmitted",
            id="other-role",
        ),
        pytest.param(
            req(actions=actions_for(["s3:DeleteObject"], acl=False)),
            cls(),
            {"team": "a"},
            "ActionNotAdmitted",
            id="delete-object-not-an-upload",
        ),
        pytest.param(
            req(actions=actions_for(["s3:PutObjectRetention", "s3:BypassGovernanceRetention"], acl=False)),
            cls(),
            {"team": "a"},
            "ActionNotAdmitted",
            id="retention-bypass",
        ),
        pytest.param(
            req(actions=actions_for(["s3:PutObjectVersionAcl"], acl=False)),
            cls(actions=["s3:PutObject*"]),
            {"team": "a"},
            "AdmittedByClass",
            id="a-glob-admits-an-acl-action-granted-only-under-the-acl-condition",
        ),
        pytest.param(
            req(actions=actions_for(["s3:PutObjectVersionAcl"], acl=False)),
            cls(actions=["s3:PutObject*"], acls=[]),
            {"team": "a"},
            "ACLNotAdmitted",
            id="an-acl-action-with-no-admitted-acl-is-refused",
        ),
        pytest.param(
            req(prefix="team-a/" + "x" * 58),
            cls(limits={"maxPrefixLength": 64}),
            {"team": "a"},
            "PrefixNotAdmitted",
            id="prefix-over-the-class-length-cap",
        ),
        pytest.param(
            req(prefix="team-a/" + "x" * 56),
            cls(limits={"maxPrefixLength": 63}),
            {"team": "a"},
            "AdmittedByClass",
            id="prefix-at-the-class-length-cap",
        ),
        pytest.param(
            req(actions=actions_for(["s3:GetObject"], acl=False)),
            cls(actions=["s3:PutObject", "s3:Get*"]),
            {"team": "a"},
            "AdmittedByClass",
            id="listed-glob-admits-getobject",
        ),
        pytest.param(
            req(actions=actions_for(["s3:GetObject"], acl=False)),
            cls(actions=["s3:PutObject"]),
            {"team": "a"},
            "ActionNotAdmitted",
            id="getobject-not-listed",
        ),
        pytest.param(
            req(actions=actions_for([], acl=True), acl="bucket-owner-full-control"),
            cls(),
            {"team": "a"},
            "AdmittedByClass",
            id="default-acl-admitted",
        ),
        pytest.param(
            req(actions=actions_for([], acl=True), acl="public-read"),
            cls(),
            {"team": "a"},
            "ACLNotAdmitted",
            id="public-read-not-by-default",
        ),
        pytest.param(
            req(actions=actions_for([], acl=True), acl="public-read"),
            cls(acls=["bucket-owner-full-control", "public-read"]),
            {"team": "a"},
            "AdmittedByClass",
            id="public-read-when-listed",
        ),
        pytest.param(
            req(kms_key=KEY, default_key=KEY),
            cls(),
            {"team": "a"},
            "AdmittedByClass",
            id="bucket-default-key",
        ),
        pytest.param(
            req(kms_key=OTHER_KEY, default_key=KEY),
            cls(),
            {"team": "a"},
            "KMSKeyNotAdmitted",
            id="another-key",
        ),
        pytest.param(
            req(kms_key=OTHER_KEY), cls(), {"team": "a"}, "KMSKeyNotAdmitted", id="key-with-default-unknown"
        ),
        pytest.param(
            req(kms_key=OTHER_KEY),
            cls(kmsKeys=["arn:aws:kms:us-east-1:111122223333:key/*"]),
            {"team": "a"},
            "AdmittedByClass",
            id="key-by-glob",
        ),
    ],
)
def test_admission_rules(
    request_: Request, klass: ClassSpec | None, labels: dict[str, str], reason: str
) -> None:
    got = admit(request_, klass, labels)
    assert str(got.reason) == reason
    assert got.admitted == (reason == "AdmittedByClass")
    if not got.admitted:
        assert not got.writes  # a refused request never causes a write


def test_a_refusal_names_what_was_refused() -> None:
    got = admit(req(actions=actions_for(["s3:DeleteObject"], acl=False)), cls(), {"team": "a"})
    assert "s3:DeleteObject" in got.message and "s3:PutObject" in got.message
