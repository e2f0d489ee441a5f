"""``bucketaccess why``: one object's layers from its status, compactly."""

from __future__ import annotations

from bucketaccess.cli.why import to_text


def test_why_prints_ready_then_each_condition_and_the_messages_of_those_not_true() -> None:
    obj = {
        "metadata": {"namespace": "billing", "name": "uploader"},
        "status": {
            "lastVerifiedTime": "2026-12-06T17:00:00Z",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "ExplicitDenyInBucketPolicy",
                    "message": "denied by DenyAll",
                },
                {"type": "Admitted", "status": "True", "reason": "AdmittedByClass", "message": "admitted"},
                {
                    "type": "BucketPolicyAllows",
                    "status": "False",
                    "reason": "ExplicitDeny",
                    "message": "statement DenyAll denies",
                },
                {
                    "type": "SCPAllows",
                    "status": "Unknown",
                    "reason": "SCPsNotReadable",
                    "message": "no org reader",
                },
            ],
        },
    }
    assert to_text(obj).splitlines() == [
        "billing/uploader: Ready=False ExplicitDenyInBucketPolicy (last verified 2026-12-06T17:00:00Z)",
        "  denied by DenyAll",
        "",
        "[ OK ] Admitted                   AdmittedByClass",
        "[FAIL] BucketPolicyAllows         ExplicitDeny",
        "       statement DenyAll denies",
        "[ ?? ] SCPAllows                  SCPsNotReadable",
        "       no org reader",
    ]


def test_why_of_an_object_not_verified_yet() -> None:
    assert to_text({"metadata": {"namespace": "a", "name": "b"}}) == "a/b: not verified yet (no status)\n"
