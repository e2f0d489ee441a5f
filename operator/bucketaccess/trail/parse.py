"""One EventBridge event (the body of one SQS message) -> the resources it changed, or why not.

The shape is EventBridge's envelope ("version", "id", "detail-type", "source", "account",
"time", "region", "resources", "detail") around the CloudTrail record in ``detail``
("eventSource", "eventName", "eventTime", "eventID", "userIdentity", "requestParameters",
"responseElements", "errorCode", "recipientAccountId", ...).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .calls import Call, Ref, by_name, service_event

DETAIL_TYPE = "AWS API Call via CloudTrail"


class Why(StrEnum):
    """Why a well-formed event starts no pass (the ``reason`` label of the ignored counter)."""

    DetailType = "detail-type"  # not a CloudTrail API call event
    UnknownCall = "unknown-call"  # an API call outside the table
    FailedCall = "failed-call"  # the call failed (errorCode): nothing changed
    OwnWrite = "own-write"  # the operator's own write: its pass already knows
    NoObjects = "no-objects"  # no object of this operator uses the resource
    Duplicate = "duplicate"  # the same CloudTrail record again (eventID seen)
    VerifiedSince = "verified-since"  # every object it reaches has a verdict from reads made after the call


@dataclass(frozen=True)
class Event:
    call: Call
    refs: tuple[Ref, ...]
    event_id: str  # CloudTrail's eventID, else EventBridge's id: duplicates share it
    account: str  # where the call was made
    region: str
    when: float | None  # the call's time (epoch seconds), for the event lag
    caller: str  # userIdentity.arn, or the session issuer's ARN


@dataclass(frozen=True)
class Ignored:
    why: Why
    call: str  # "eventSource:eventName" or the detail-type, for the log


@dataclass(frozen=True)
class Malformed:
    problem: str


def _time(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def callers(identity: Mapping[str, Any]) -> tuple[str, ...]:
    """The ARNs that name who made a call: userIdentity.arn and, for an assumed role, the
    role itself (sessionContext.sessionIssuer.arn)."""
    out = []
    if isinstance(identity.get("arn"), str):
        out.append(identity["arn"])
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    if isinstance(issuer, Mapping) and isinstance(issuer.get("arn"), str):
        out.append(issuer["arn"])
    return tuple(out)


def same_principal(a: str, b: str) -> bool:
    """Two ARNs name the same principal: equal, or one role's sessions (any session name) and
    the role itself (``arn:aws:sts::A:assumed-role/R/s`` is ``arn:aws:iam::A:role/<path>/R``)."""
    return bool(a) and bool(b) and _principal(a) == _principal(b)


def _principal(arn: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return arn
    account, resource = parts[4], parts[5]
    if resource.startswith("assumed-role/"):
        return f"{account}:role:{resource.split('/')[1]}"
    if resource.startswith("role/"):
        return f"{account}:role:{resource.rsplit('/', 1)[-1]}"
    return arn


def parse(
    body: str | bytes | Mapping[str, Any], own: Callable[[str], bool] = lambda _: False
) -> Event | Ignored | Malformed:
    """The resources an event changed; ``own(arn)`` says whether a caller ARN is the operator's."""
    if isinstance(body, (str, bytes)):
        try:
            event = json.loads(body)
        except ValueError as exc:
            return Malformed(f"not JSON: {exc}")
    else:
        event = body
    if not isinstance(event, Mapping):
        return Malformed("not a JSON object")
    detail = event.get("detail")
    if event.get("detail-type") != DETAIL_TYPE:
        if "detail-type" not in event:
            return Malformed("no detail-type: not an EventBridge event")
        return _service_event(event)
    if not isinstance(detail, Mapping):
        return Malformed("no detail")
    source, name = detail.get("eventSource"), detail.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str):
        return Malformed("detail has no eventSource or eventName")
    label = f"{source}:{name}"
    call = by_name(source, name)
    if call is None:
        return Ignored(Why.UnknownCall, label)
    if detail.get("errorCode"):
        return Ignored(Why.FailedCall, label)
    identity = detail.get("userIdentity")
    identity = identity if isinstance(identity, Mapping) else {}
    who = callers(identity)
    if any(own(arn) for arn in who):
        return Ignored(Why.OwnWrite, label)
    refs = call.extract(detail)
    if not refs:
        return Malformed(f"{label}: {call.where} is missing")
    event_id = detail.get("eventID") or event.get("id")
    return Event(
        call=call,
        refs=tuple(refs),
        event_id=str(event_id or ""),
        account=str(detail.get("recipientAccountId") or event.get("account") or ""),
        region=str(detail.get("awsRegion") or event.get("region") or ""),
        when=_time(detail.get("eventTime")) or _time(event.get("time")),
        caller=who[-1] if who else "",
    )


def _service_event(event: Mapping[str, Any]) -> Event | Ignored | Malformed:
    """An event a service sends itself (KMS key deletion, key material expiry), or an unknown kind."""
    call = service_event(str(event.get("source")), str(event.get("detail-type")))
    if call is None:
        return Ignored(Why.DetailType, str(event.get("detail-type")))
    refs = call.extract(event)
    if not refs:
        return Malformed(f"{call.name}: {call.where} is missing")
    return Event(
        call=call,
        refs=tuple(refs),
        event_id=str(event.get("id") or ""),
        account=str(event.get("account") or ""),
        region=str(event.get("region") or ""),
        when=_time(event.get("time")),
        caller="",
    )
