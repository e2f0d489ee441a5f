"""The SQS side of change events: long-poll one queue, delete what was handled.

Only boto3 here; what a message means is :mod:`bucketaccess.trail`'s, what it schedules is the
operator's (:mod:`bucketaccess.k8s.change_events`). Calls: sqs:ReceiveMessage,
sqs:DeleteMessageBatch (the sqs:DeleteMessage permission), sqs:GetQueueAttributes, and
sts:GetCallerIdentity for the operator's own ARN (its own writes start no second pass).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3.session
import botocore.config
import botocore.exceptions

WAIT_S = 20  # SQS's longest long poll: an empty queue costs three receives a minute
BATCH = 10  # SQS's most messages per receive


@dataclass(frozen=True)
class Message:
    id: str
    receipt: str
    body: str
    receives: int  # ApproximateReceiveCount: > 1 after a consumer died or failed with it


class QueueUnavailable(Exception):
    """The queue did not answer, or refused (code: the AWS error code, or the connection error)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class EventQueue:
    """One SQS queue. Thread-safe as boto3 clients are; the consumer calls it from one thread."""

    def __init__(
        self,
        url: str,
        region: str | None = None,
        session: boto3.session.Session | None = None,
        on_client: Callable[[Any], None] | None = None,
        wait_s: int = WAIT_S,
    ) -> None:
        self.url = url
        self.wait_s = wait_s
        self._session = session or boto3.session.Session()
        # the queue's region is in its URL (https://sqs.<region>.amazonaws.com/<account>/<name>)
        region = region or _region_of(url) or self._session.region_name or "us-east-1"
        config = botocore.config.Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=wait_s + 10,
        )
        made: Any = self._session
        self._sqs = made.client("sqs", region_name=region, config=config)
        self._sts = made.client("sts", region_name=region, config=config)
        if on_client is not None:
            on_client(self._sqs)
            on_client(self._sts)

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._sqs, method)(**kwargs)
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            raise QueueUnavailable(
                str(error.get("Code", "ClientError")), str(error.get("Message", exc))
            ) from exc
        except (botocore.exceptions.BotoCoreError, OSError) as exc:
            raise QueueUnavailable(type(exc).__name__, str(exc)) from exc

    def caller_arn(self) -> str:
        """The operator's own principal (an assumed role's session ARN, or a user's ARN)."""
        try:
            return str(self._sts.get_caller_identity()["Arn"])
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, OSError) as exc:
            raise QueueUnavailable("GetCallerIdentity", str(exc)) from exc

    def backlog(self) -> int:
        """Messages waiting (ApproximateNumberOfMessages); also the start-up reachability check."""
        answer = self._call(
            "get_queue_attributes", QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(answer.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))

    def receive(self) -> list[Message]:
        answer = self._call(
            "receive_message",
            QueueUrl=self.url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=self.wait_s,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return [
            Message(
                id=m["MessageId"],
                receipt=m["ReceiptHandle"],
                body=m.get("Body", ""),
                receives=int((m.get("Attributes") or {}).get("ApproximateReceiveCount", 1)),
            )
            for m in answer.get("Messages", ())
        ]

    def delete(self, messages: Sequence[Message]) -> list[str]:
        """Delete handled messages; returns the ids SQS did not delete (they come back)."""
        failed: list[str] = []
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            answer = self._call(
                "delete_message_batch",
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m.receipt} for i, m in enumerate(chunk)],
            )
            failed += [chunk[int(f["Id"])].id for f in answer.get("Failed", ())]
        return failed


def _region_of(url: str) -> str | None:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "sqs" else None
