"""Kopf handlers: thin shims that hand one BucketAccess to the reconciler and write its outcome.

Kopf keeps its own progress in annotations (prefix s3access.dev), so ``status`` is ours alone,
and no handler returns a value: Kopf would write it into ``status.<handler id>``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import kopf

from .. import reconciler
from ..conditions import merge_conditions

GROUP, VERSION = "s3access.dev", "v1alpha1"
ANNOTATION_PREFIX = "s3access.dev"


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    # Kopf would post every handler log line as an Event; we post our own, on transitions only.
    settings.posting.level = logging.WARNING


def write_outcome(body: kopf.Body, patch: kopf.Patch, outcome: reconciler.Outcome) -> None:
    now = now_rfc3339()
    generation = int(body.meta.get("generation") or 0)
    existing = body.status.get("conditions") or []
    conditions = merge_conditions(existing, [outcome.ready, *outcome.conditions], generation, now)
    patch.status["observedGeneration"] = generation
    patch.status["conditions"] = conditions
    patch.status["decision"] = outcome.decision
    if outcome.role_arn is not None:
        patch.status["roleArn"] = outcome.role_arn
    if outcome.verified:
        patch.status["lastVerifiedTime"] = now


@kopf.on.resume(GROUP, VERSION, "bucketaccesses")
@kopf.on.create(GROUP, VERSION, "bucketaccesses")
@kopf.on.update(GROUP, VERSION, "bucketaccesses")
def verify(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    write_outcome(body, patch, reconciler.not_yet_verified())
