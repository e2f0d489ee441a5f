"""A check that runs right before every HTTP attempt of an AWS write, retries included.

A check made once per write is not enough: the writer retries a throttled or conflicting write
for seconds (:data:`~.writer.RETRY_DELAYS_S`) and botocore retries each call on its own, so a
check made before the first attempt says nothing about the last. botocore emits ``before-send``
for each attempt, after it has signed the request and just before the bytes go out: a hook there
that raises stops that attempt and every later one (botocore's retry rules take an exception that
is not a connection error as final, and hand it on unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Every operation that changes something in AWS the operator may call; reads are never checked.
WRITE_OPERATIONS = frozenset(
    {"PutBucketPolicy", "DeleteBucketPolicy", "PutKeyPolicy", "CreateGrant", "RevokeGrant", "RetireGrant"}
)

# Called with the write's IAM action (``s3:PutBucketPolicy``) before each attempt; raises to stop it.
WriteCheck = Callable[[str], None]


def check_each_write_attempt(client: Any, check: WriteCheck) -> None:
    """Register ``check`` on a boto3 client, to run before each attempt of its writes.

    One hook on ``before-send.*.*``, first in its place: botocore calls the hooks of a wildcard
    name before those of a more specific one, so this runs before any other ``before-send`` hook
    could answer in AWS's place (a hook on ``before-send.s3.PutBucketPolicy`` would not)."""
    service = client.meta.service_model.service_name

    def before_send(event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        if operation in WRITE_OPERATIONS:
            check(f"{service}:{operation}")

    # registering the same unique_id twice keeps the first: a client is hooked once
    client.meta.events.register_first("before-send.*.*", before_send, unique_id="bucketaccess-check-write")
