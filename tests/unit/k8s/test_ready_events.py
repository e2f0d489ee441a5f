"""Which passes post the Ready Event: a change of Ready, or a first verdict that is not True."""

from __future__ import annotations

import pytest

from bucketaccess.k8s.status import _ready_event_due


@pytest.mark.parametrize(
    ("before", "after", "due"),
    [
        (None, ("True", "UploadAllowed"), False),  # a new object found fine: its status says so
        (None, ("False", "NoAllowInIdentityPolicy"), True),
        (None, ("Unknown", "AWSUnavailable"), True),
        (("False", "NoAllowInIdentityPolicy"), ("True", "UploadAllowed"), True),
        (("True", "UploadAllowed"), ("False", "ExplicitDenyInBucketPolicy"), True),
        (("True", "UploadAllowed"), ("True", "UploadAllowed"), False),
        (("False", "NoAllowInIdentityPolicy"), ("False", "NotAKeyUser"), False),  # a reason alone
    ],
)
def test_the_ready_event_marks_changes_and_first_failures(
    before: tuple[str, str] | None, after: tuple[str, str], due: bool
) -> None:
    assert _ready_event_due(before, after) is due
