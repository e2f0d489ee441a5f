"""Kubernetes Events about a BucketAccess, posted by the operator itself (core/v1).

The scheduler's worker threads are outside Kopf's per-object context, so ``kopf.event`` is not
available there; Events are few (a Ready transition, a write), so a direct POST is cheap.
"""

from __future__ import annotations

import datetime as dt
import logging

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..resources import RawBody
from ..vocabulary import EventType, Reason

COMPONENT = "bucketaccess-operator"
MAX_MESSAGE = 1000
log = logging.getLogger(__name__)


def post(api: client.ApiClient, body: RawBody, type: EventType, reason: Reason, message: str) -> None:
    """Best effort: a lost Event never fails a pass (status carries the same facts)."""
    meta = body["metadata"]
    now = dt.datetime.now(dt.UTC)
    event = client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name=f"{meta['name']}.", namespace=meta["namespace"]),
        involved_object=client.V1ObjectReference(
            api_version=body.get("apiVersion"),
            kind=body.get("kind"),
            name=meta["name"],
            namespace=meta["namespace"],
            uid=meta.get("uid"),
            resource_version=meta.get("resourceVersion"),
        ),
        type=str(type),
        reason=str(reason),
        message=message[:MAX_MESSAGE],
        source=client.V1EventSource(component=COMPONENT),
        reporting_component=COMPONENT,
        first_timestamp=now,
        last_timestamp=now,
        count=1,
    )
    try:
        client.CoreV1Api(api).create_namespaced_event(meta["namespace"], event)
    except ApiException as exc:
        log.warning(
            "could not post Event %s on %s/%s: HTTP %s", reason, meta["namespace"], meta["name"], exc.status
        )
