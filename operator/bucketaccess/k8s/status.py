"""Writing an Outcome to a BucketAccess: status through the status subresource, Events on change."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import kopf
from kubernetes import client
from kubernetes.client.rest import ApiException

from ..conditions import merge_conditions
from ..reconciler import Outcome

GROUP, VERSION, PLURAL = "s3access.dev", "v1alpha1", "bucketaccesses"
log = logging.getLogger(__name__)


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
        "decision": outcome.decision,
    }
    if outcome.role_arn is not None:
        status["roleArn"] = outcome.role_arn
    status["lastVerifiedTime"] = stamp if outcome.verified else current.get("lastVerifiedTime")
    if outcome.managed is not None:
        status["managed"] = dict(outcome.managed)
    return status


def _ready(status: Mapping[str, Any]) -> tuple[str, str] | None:
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            return str(c.get("status")), str(c.get("reason"))
    return None


def write(api: client.ApiClient, body: Mapping[str, Any], outcome: Outcome, now: dt.datetime) -> None:
    meta = body["metadata"]
    current = body.get("status") or {}
    generation = int(meta.get("generation") or 0)
    status = status_for(current, generation, outcome, now)
    # conditions is a whole list in a merge patch; fields we dropped are removed explicitly
    patch = {"status": {**status, **{k: None for k in current if k not in status and k != "managed"}}}
    if status.get("lastVerifiedTime") is None:
        patch["status"].pop("lastVerifiedTime")
    try:
        client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
            GROUP, VERSION, meta["namespace"], PLURAL, meta["name"], patch
        )
    except ApiException as exc:
        if exc.status == 404:
            return  # deleted while we were verifying
        if exc.status == 403:
            message = (
                f"forbidden to patch bucketaccesses/status in namespace {meta['namespace']}: the operator's RBAC "
                "lacks 'patch' on s3access.dev bucketaccesses/status (see deploy/base/clusterrole.yaml)"
            )
            log.error(message)
            raise kopf.TemporaryError(message, delay=60) from None
        raise
    before, after = _ready(current), _ready(status)
    if after is not None and (before is None or before[0] != after[0]):
        kind = "Normal" if after[0] == "True" else "Warning"
        kopf.event(dict(body), type=kind, reason=outcome.ready.reason, message=outcome.ready.message[:1000])
    for kind, reason, message in outcome.events:
        kopf.event(dict(body), type=kind, reason=reason, message=message[:1000])
