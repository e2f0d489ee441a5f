"""The operator as the e2e and fault tests run it: ``python -m tests.operator_entry run ...``.

It is ``bucketaccess run`` with two test-only hooks put around it from the outside, so that
production code carries none:

- ``TEST_AWS_CALL_LOG=FILE``: every AWS call the process makes is appended to FILE as one JSON
  line ``{"action", "resource"}`` (the IAM policy test checks them against deploy/iam/);
- ``TEST_KILL_BEFORE_WRITE=FILE``: when FILE exists, the process deletes it and SIGKILLs itself
  right before its next policy write, once, to prove that a crash between read and write converges.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import boto3.session

from bucketaccess.aws.boto import iam_action
from bucketaccess.aws.writer import BotoWriter
from bucketaccess.cli import main

CALL_LOG_ENV = "TEST_AWS_CALL_LOG"
KILL_BEFORE_WRITE_ENV = "TEST_KILL_BEFORE_WRITE"


def resource_of(service: str, params: Any) -> str:
    """The ARN an IAM policy would name for this call (best effort; "*" where AWS has none)."""
    p = params if isinstance(params, dict) else {}
    if service == "s3" and p.get("Bucket"):
        return f"arn:aws:s3:::{p['Bucket']}"
    if service == "kms" and str(p.get("KeyId", "")).startswith("arn:"):
        return str(p["KeyId"])
    if service == "iam":
        if p.get("OpenIDConnectProviderArn"):
            return str(p["OpenIDConnectProviderArn"])
        if p.get("PolicyArn"):
            return str(p["PolicyArn"])
        if p.get("RoleName"):
            return f"arn:aws:iam::*:role/{p['RoleName']}"
    if service == "sts" and p.get("RoleArn"):
        return str(p["RoleArn"])
    if service == "sqs" and p.get("QueueUrl"):
        # https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (moto: http://HOST:PORT/ACCOUNT/NAME)
        account, name = str(p["QueueUrl"]).rstrip("/").split("/")[-2:]
        return f"arn:aws:sqs:*:{account}:{name}"
    if service == "eks":
        cluster = p.get("clusterName") or p.get("name") or "*"
        if p.get("associationId"):
            return f"arn:aws:eks:*:*:podidentityassociation/{cluster}/{p['associationId']}"
        return f"arn:aws:eks:*:*:cluster/{cluster}"
    return "*"


def log_calls(path: str) -> None:
    """Register the call log on every boto3 client the process makes from now on."""
    lock = threading.Lock()
    make_client = boto3.session.Session.client

    def client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        made = make_client(self, *args, **kwargs)
        service = made.meta.service_model.service_name

        def before(model: Any, params: Any, **_: Any) -> None:
            line = json.dumps(
                {"action": iam_action(service, model.name), "resource": resource_of(service, params)}
            )
            with lock, open(path, "a") as out:
                out.write(line + "\n")

        # before-parameter-build sees the API's own arguments (Bucket, KeyId, RoleName, ...)
        made.meta.events.register("before-parameter-build.*.*", before)
        return made

    boto3.session.Session.client = client  # type: ignore[method-assign]


def kill_before_writes(marker: str) -> None:
    def killing(write: Callable[..., None]) -> Callable[..., None]:
        def wrapped(self: BotoWriter, *args: Any) -> None:
            if os.path.exists(marker):
                os.unlink(marker)
                os.kill(os.getpid(), signal.SIGKILL)
            write(self, *args)

        return wrapped

    for name in ("put_bucket_policy", "delete_bucket_policy", "put_key_policy"):
        setattr(BotoWriter, name, killing(getattr(BotoWriter, name)))


if __name__ == "__main__":
    if os.environ.get(CALL_LOG_ENV):
        log_calls(os.environ[CALL_LOG_ENV])
    if os.environ.get(KILL_BEFORE_WRITE_ENV):
        kill_before_writes(os.environ[KILL_BEFORE_WRITE_ENV])
    sys.exit(main(sys.argv[1:]))
