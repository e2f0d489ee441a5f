"""Writing an Outcome to a BucketAccess: status through the status subresource, Events on change.

Only the status fields that differ are sent, and nothing at all when none does (a pass that
could not read AWS keeps lastVerifiedTime): at thousands of objects every byte and every watch
event the patch causes is paid for on every interval.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..reconcile import Outcome, merge_conditions
from ..resources import GROUP, PLURAL, VERSION, RawBody
from ..vocabulary import ConditionStatus, ConditionType, EventType
from . import events

log = logging.getLogger(__name__)


class StatusForbidden(Exception):
    """The operator's RBAC does not let it write status: retried later, never a crash."""


class ObjectGone(Exception):
    """The object was deleted while its pass ran. Its DELETED watch event may never come (one
    deleted while the watch was down is absent from the re-list, which sends no deletion)."""


def rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_for(
    current: Mapping[str, Any], generation: int, outcome: Outcome, now: dt.datetime
) -> dict[str, Any]:
    stamp = rfc3339(now)
    conditions = merge_conditions(
        current.get("conditions"), [outcome.ready, *outcome.conditions], generation, stamp
    )
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": conditions,
        "decision": str(outcome.decision),
    }
    if outcome.role_arn is not None:
        status["roleArn"] = outcome.role_arn
    if outcome.session is not None:
        status["identity"] = outcome.session.as_status()
    status["lastVerifiedTime"] = stamp if outcome.verified else current.get("lastVerifiedTime")
    if outcome.managed is not None:
        status["managed"] = dict(outcome.managed.raw())
    return status


def _ready(status: Mapping[str, Any]) -> tuple[str, str] | None:
    for c in status.get("conditions") or []:
        if c.get("type") == ConditionType.Ready:
            return str(c.get("status")), str(c.get("reason"))
    return None


def changes(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch from ``current`` to ``wanted`` (a key we no longer set is removed)."""
    patch = {k: v for k, v in wanted.items() if current.get(k) != v}
    patch.update({k: None for k in current if k not in wanted and k != "managed"})
    if isinstance(patch.get("managed"), dict) and isinstance(current.get("managed"), dict):
        # a merge patch merges maps: a key the object no longer holds must be sent as null
        gone = {k: None for k in current["managed"] if k not in patch["managed"]}
        patch["managed"] = {**patch["managed"], **gone}
    return patch


def _ready_event_due(before: tuple[str, str] | None, after: tuple[str, str]) -> bool:
    """An Event marks a change of Ready, and a first verdict that is not True: a new object found
    fine needs none (its status says so), and at 10,000 new objects those Events would be a third
    of the API server's writes."""
    if before is None:
        return after[0] != ConditionStatus.TRUE
    return before[0] != after[0]


def write(api: client.ApiClient, body: RawBody, outcome: Outcome, now: dt.datetime) -> RawBody | None:
    """Patch the status and post Events; returns the object as written, or None if nothing changed.
    Raises :class:`ObjectGone` when the object no longer exists."""
    meta = body["metadata"]
    current = body.get("status") or {}
    generation = int(meta.get("generation") or 0)
    wanted = status_for(current, generation, outcome, now)
    if wanted.get("lastVerifiedTime") is None:
        wanted.pop("lastVerifiedTime")
    patch = changes(current, wanted)
    written = None
    if patch:
        try:
            written = cast(
                RawBody,
                client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
                    GROUP, VERSION, meta["namespace"], PLURAL, meta["name"], {"status": patch}
                ),
            )
        except ApiException as exc:
            if exc.status == 404:
                raise ObjectGone(meta["name"]) from None
            if exc.status == 403:
                message = (
                    f"forbidden to patch bucketaccesses/status in namespace {meta['namespace']}: the operator's RBAC "
                    "lacks 'patch' on s3access.dev bucketaccesses/status (see deploy/base/clusterrole.yaml)"
                )
                log.error(message)
                raise StatusForbidden(message) from None
            raise
    before, after = _ready(current), _ready(wanted)
    if after is not None and _ready_event_due(before, after):
        flipped = EventType.Normal if after[0] == ConditionStatus.TRUE else EventType.Warning
        events.post(api, body, flipped, outcome.ready.reason, outcome.ready.message)
    for event in outcome.events:
        events.post(api, body, event.type, event.reason, event.message)
    return written
