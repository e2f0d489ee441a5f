"""Merging managed statements into live policies: foreign statements survive byte for byte."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bucketaccess.grants.merge import BUCKET_POLICY_LIMIT, KEY_POLICY_LIMIT, merge
from bucketaccess.grants.plan import BUCKET_SID, KEY_SID, bucket_statements, key_statements
from bucketaccess.vocabulary import Reason
from tests.unit.grants.claims import claim

R1 = "arn:aws:iam::111122223333:role/a"
R2 = "arn:aws:iam::111122223333:role/b"
KEY = "arn:aws:kms:us-east-1:111122223333:key/k1"
OURS = bucket_statements(
    "b", [claim(owner="ns/a", role_arn=R1, bucket="b", prefix="in/", bucket_mode="Manage")]
)
DENY = {
    "Sid": "ExampleStmt",
    "Effect": "Deny",
    "Principal": "*",
    "Action": ["s3:PutObject"],
    "Resource": "arn:aws:s3:::b/*",
    "Condition": {
        "StringNotLikeIfExists": {
            "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:111122223333:key/*"
        }
    },
}


def text(*statements: Any, **extra: Any) -> str:
    return json.dumps(
        {"Version": "2012-10-17", **extra, "Statement": list(statements)}, separators=(",", ":")
    )


def foreign_bytes(document_text: str | None) -> list[str]:
    if not document_text:
        return []
    raw = json.loads(document_text)["Statement"]
    raw = [raw] if isinstance(raw, dict) else raw
    return [
        json.dumps(s)
        for s in raw
        if not BUCKET_SID.match(str(s.get("Sid", ""))) and not KEY_SID.match(str(s.get("Sid", "")))
    ]


ODD_FOREIGN = [
    pytest.param(
        json.dumps({"Version": "2012-10-17", "Statement": DENY}, indent=4),
        id="single-statement-object-pretty",
    ),
    pytest.param(
        text(
            {
                "Effect": "Allow",
                "Principal": {"AWS": R2},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            }
        ),
        id="strings-not-lists-no-sid",
    ),
    pytest.param(
        text(
            {
                "Sid": "Guard",
                "Effect": "Deny",
                "NotPrincipal": {"AWS": [R1, "111122223333"]},
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::b/*",
            }
        ),
        id="not-principal",
    ),
    pytest.param(
        text(
            {
                "Sid": "Dup",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/pub/*",
            },
            {
                "Sid": "Dup",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/pub2/*",
            },
        ),
        id="duplicate-sids",
    ),
    pytest.param(
        text(
            {
                "Sid": "BucketAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::b/logs/*",
            }
        ),
        id="sid-that-only-looks-like-ours",
    ),
    pytest.param(
        text(
            {
                "Sid": "Zugriff für Prüfer ✓",
                "Effect": "Allow",
                "Principal": {"AWS": R2},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            }
        ),
        id="unicode-sid",
    ),
    pytest.param(
        text(
            {
                "Sid": "ManyKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"StringNotEquals": {f"aws:PrincipalTag/k{i}": f"v{i}" for i in range(40)}},
            }
        ),
        id="condition-with-dozens-of-keys",
    ),
    pytest.param(text(DENY, Id="PolicyWithId"), id="policy-id-kept"),
]


@pytest.mark.parametrize("live", ODD_FOREIGN)
def test_foreign_statements_survive_add_and_remove(live: str) -> None:
    added = merge(live, OURS, BUCKET_SID, limit=BUCKET_POLICY_LIMIT)
    assert added.changed and added.text is not None
    assert foreign_bytes(added.text) == foreign_bytes(live)
    assert json.loads(added.text)["Statement"][-1] == OURS[0]
    if "Id" in json.loads(live):
        assert json.loads(added.text)["Id"] == json.loads(live)["Id"]
    # nothing asked any more: ours leave, the foreign ones stay as they were
    removed = merge(added.text, [], BUCKET_SID, limit=BUCKET_POLICY_LIMIT)
    assert removed.changed and removed.removed == (OURS[0]["Sid"],)
    assert foreign_bytes(removed.text) == foreign_bytes(live)


def test_no_policy_and_nothing_asked_writes_nothing() -> None:
    m = merge(None, [], BUCKET_SID, limit=BUCKET_POLICY_LIMIT)
    assert (m.document, m.changed) == (None, False)


def test_new_policy_when_none_existed() -> None:
    m = merge(None, OURS, BUCKET_SID, limit=BUCKET_POLICY_LIMIT)
    assert m.changed and m.added == (OURS[0]["Sid"],) and json.loads(m.text or "")["Statement"] == OURS


def test_last_grant_gone_deletes_a_policy_that_was_only_ours() -> None:
    m = merge(text(*OURS), [], BUCKET_SID, limit=BUCKET_POLICY_LIMIT)
    assert m.changed and m.document is None and m.text is None


def test_equal_policy_is_not_rewritten_even_when_reordered() -> None:
    live = text(OURS[0], DENY)  # ours first, lists in another order
    reordered = dict(OURS[0], Action=["s3:PutObject"])
    m = merge(live, [reordered], BUCKET_SID, limit=BUCKET_POLICY_LIMIT)
    assert not m.changed


def test_our_statement_edited_by_someone_is_put_back() -> None:
    tampered = dict(OURS[0], Principal={"AWS": [R1, R2]})
    m = merge(text(DENY, tampered), OURS, BUCKET_SID, limit=BUCKET_POLICY_LIMIT)
    assert m.changed and m.added == (OURS[0]["Sid"],)
    assert json.loads(m.text or "")["Statement"] == [DENY, OURS[0]]


def test_stale_unique_id_principal_is_reported_and_replaced() -> None:
    stale = dict(OURS[0], Principal={"AWS": ["AROAEXAMPLEDELETEDROLE1", R2]})
    m = merge(text(stale), OURS, BUCKET_SID, limit=BUCKET_POLICY_LIMIT)
    assert m.stale_principals == ("AROAEXAMPLEDELETEDROLE1",)
    assert json.loads(m.text or "")["Statement"] == OURS


def test_size_limit_refuses_and_writes_nothing() -> None:
    pad = {
        "Sid": "Pad",
        "Effect": "Allow",
        "Principal": {"AWS": R2},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/",
    }
    live = text(pad)
    pad["Resource"] += "x" * (
        BUCKET_POLICY_LIMIT - 20 - len(live)
    )  # a foreign policy 20 bytes under the limit
    live = text(pad)
    assert BUCKET_POLICY_LIMIT - 20 <= len(live) <= BUCKET_POLICY_LIMIT
    m = merge(live, OURS, BUCKET_SID, limit=BUCKET_POLICY_LIMIT)
    assert m.refusal is Reason.PolicySizeLimit and m.text is None and not m.changed
    assert str(BUCKET_POLICY_LIMIT) in m.detail


def test_key_policy_lockout_guard() -> None:
    root = {
        "Sid": "EnableIAM",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    desired = key_statements(
        KEY, [claim(owner="ns/a", role_arn=R1, bucket="b", kms_mode="KeyPolicy", kms_key_arn=KEY)]
    )
    ok = merge(text(root), desired, KEY_SID, limit=KEY_POLICY_LIMIT, key_policy=True)
    assert ok.changed and ok.refusal is None and json.loads(ok.text or "")["Statement"][0] == root
    # someone let an admin manage the key through our statement; replacing it would lock them out
    hijacked = dict(desired[0], Action=["kms:*"])
    guarded = merge(text(root, hijacked), desired, KEY_SID, limit=KEY_POLICY_LIMIT, key_policy=True)
    assert guarded.refusal is Reason.LockoutRisk and guarded.text is None


def test_only_allow_statements_are_ever_merged_in() -> None:
    with pytest.raises(ValueError, match="Allow"):
        merge(None, [dict(OURS[0], Effect="Deny")], BUCKET_SID, limit=BUCKET_POLICY_LIMIT)


def test_unreadable_live_policy_is_refused() -> None:
    m = merge("{not json", OURS, BUCKET_SID, limit=BUCKET_POLICY_LIMIT)
    assert m.refusal is Reason.UnreadablePolicy and not m.changed
