"""Verdicts before and after a proposed change, as the operator would report them.

A verdict is what ``Ready`` would say (the same layer conditions and the same derivation as the
operator's pass), with the layer and the statement that decide. An object whose scenarios no change
touches is not evaluated at all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..access import explain, load_scenario
from ..access.checks import merge_explanations
from ..grants.plan import BUCKET_SID, KEY_SID
from ..policy import StatementRef
from ..reconcile.conditions import derive_ready
from ..reconcile.types import Outcome
from ..reconcile.verify import conditions_from, status_layers
from ..vocabulary import LAYERS, ConditionStatus, ConditionType, IdentitySource
from .changes import Change, ChangeSet, Kind, rewrite

Scenario = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    ready: ConditionStatus
    reason: str
    layer: str | None = None  # the layer that decides, when the upload is not allowed
    statement: str | None = None  # the statement that decides there (source, Sid, effect)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ready": str(self.ready), "reason": self.reason}
        if self.layer:
            out["layer"] = self.layer
        if self.statement:
            out["statement"] = self.statement
        out["message"] = self.message
        return out


class Effect(StrEnum):
    Breaks = "breaks"  # Ready was True and is not
    Fixes = "fixes"  # Ready was not True and is
    Changes = "changes"  # still not Ready, for another reason
    Unknown = "unknown"  # a value known only after apply touches it
    Unchanged = "unchanged"


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    name: str
    before: Verdict
    after: Verdict | None  # None: not known before apply
    touched: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    @property
    def effect(self) -> Effect:
        if self.after is None:
            return Effect.Unknown
        was, now = self.before.ready is ConditionStatus.TRUE, self.after.ready is ConditionStatus.TRUE
        if was and not now:
            return Effect.Breaks
        if now and not was:
            return Effect.Fixes
        if (self.before.ready, self.before.reason) != (self.after.ready, self.after.reason):
            return Effect.Changes
        return Effect.Unchanged

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "effect": str(self.effect), "before": self.before.as_dict()}
        out["after"] = self.after.as_dict() if self.after else None
        out["changes"] = list(self.touched)
        if self.unknown:
            out["unknown"] = list(self.unknown)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Conflict:
    """A proposed whole policy that drops statements the operator manages."""

    resource: str
    source: str
    sids: tuple[str, ...]
    objects: tuple[str, ...]

    @property
    def message(self) -> str:
        held = f", held for {', '.join(self.objects)}" if self.objects else ""
        return (
            f"{self.resource}: the proposed policy ({self.source}) drops the operator's managed statement(s) "
            f"{', '.join(self.sids)}{held}. Either leave that policy to the operator (its class's Manage "
            "mode: do not write the whole policy elsewhere), or grant in the proposed policy and set the "
            "class to Observe"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "source": self.source,
            "sids": list(self.sids),
            "objects": list(self.objects),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    rows: tuple[Row, ...]
    conflicts: tuple[Conflict, ...]
    ignored: tuple[str, ...]
    evaluated: int  # objects evaluated twice (a change touches them)
    unaffected: int  # objects no change touches: not evaluated

    def count(self, effect: Effect) -> int:
        return sum(1 for r in self.rows if r.effect is effect)

    @property
    def summary(self) -> str:
        return (
            f"{self.count(Effect.Breaks)} of {self.evaluated + self.unaffected} declared upload(s) break, "
            f"{self.count(Effect.Fixes)} fixed, {self.count(Effect.Changes)} changed, "
            f"{self.count(Effect.Unknown)} unknown until apply, {self.unaffected} untouched; "
            f"{len(self.conflicts)} conflict(s) with the operator's managed statements"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.as_dict() for r in self.rows if r.effect is not Effect.Unchanged],
            "conflicts": [c.as_dict() for c in self.conflicts],
            "ignored": list(self.ignored),
            "evaluated": self.evaluated,
            "unaffected": self.unaffected,
            "summary": self.summary,
        }


def _layers(scenario: Mapping[str, Any]) -> tuple[ConditionType, ...]:
    """The layer conditions the operator's status would carry for this scenario."""
    return status_layers(
        endpoint=bool((scenario.get("request") or {}).get("vpcEndpoint")),
        pod_identity=(scenario.get("session") or {}).get("source") == IdentitySource.PodIdentity,
    )


def verdict(scenarios: Sequence[Mapping[str, Any]], now: dt.datetime) -> Verdict:
    """Ready as the operator's pass would derive it; raises InvalidInput for a bad scenario."""
    merged = merge_explanations([explain(load_scenario(s, now)) for s in scenarios])
    conditions = conditions_from(merged, _layers(scenarios[0]))
    ready = derive_ready(conditions)
    if ready.status is ConditionStatus.TRUE:
        return Verdict(ready=ready.status, reason=str(ready.reason), message=ready.message)
    deciding = next(c for c in conditions if c.status is ready.status)
    refs = merged.checks[deciding.type].statements
    statement = f"{refs[0].source} {refs[0].sid} ({refs[0].effect})" if refs else None
    return Verdict(
        ready=ready.status,
        reason=str(ready.reason),
        layer=str(deciding.type),
        statement=statement,
        message=ready.message,
    )


def verdict_of(outcome: Outcome) -> Verdict:
    """An operator pass's Ready as a verdict (the layer that decides: the first one in Ready's state,
    or Admitted when the class refuses)."""
    ready = outcome.ready
    if ready.status is ConditionStatus.TRUE:
        return Verdict(ready=ready.status, reason=str(ready.reason), message=ready.message)
    admitted = next((c for c in outcome.conditions if c.type is ConditionType.Admitted), None)
    if admitted is not None and admitted.status is ConditionStatus.FALSE and admitted.reason == ready.reason:
        return Verdict(
            ready=ready.status, reason=str(ready.reason), layer=str(admitted.type), message=ready.message
        )
    deciding = next(
        (c for c in outcome.conditions if c.status is ready.status and c.type is not ConditionType.Admitted),
        None,
    )
    refs: tuple[StatementRef, ...] = ()
    if deciding is not None and outcome.explanation is not None and deciding.type in LAYERS:
        refs = outcome.explanation.checks[deciding.type].statements
    return Verdict(
        ready=ready.status,
        reason=str(ready.reason),
        layer=str(deciding.type) if deciding else None,
        statement=f"{refs[0].source} {refs[0].sid} ({refs[0].effect})" if refs else None,
        message=ready.message,
    )


def assess(
    objects: Mapping[str, Sequence[Scenario]],
    proposed: ChangeSet,
    now: dt.datetime,
    *,
    also: Sequence[Row] = (),
    not_evaluated: int = 0,
    before: Mapping[str, Verdict] | None = None,
) -> Report:
    """Each object's verdict now and with the changes applied; only touched objects are evaluated.
    ``also``: rows decided elsewhere (a class change), for objects not in ``objects``;
    ``not_evaluated``: objects with no scenario (not admitted now), which no AWS change can break;
    ``before``: verdicts already made from these very scenarios (the operator's pass), not made again."""
    rows: list[Row] = list(also)
    unaffected = not_evaluated
    for name, scenarios in sorted(objects.items()):
        rewritten = [rewrite(s, proposed.changes) for s in scenarios]
        touched = tuple(dict.fromkeys(t for r in rewritten for t in r.touched))
        unknown = tuple(dict.fromkeys(u for r in rewritten for u in r.unknown))
        if not touched and not unknown:
            unaffected += 1
            continue
        was = before[name] if before is not None and name in before else verdict(scenarios, now)
        after = None if unknown else verdict([r.scenario for r in rewritten], now)
        rows.append(Row(name=name, before=was, after=after, touched=touched, unknown=unknown))
    return Report(
        rows=tuple(sorted(rows, key=lambda r: r.name)),
        conflicts=tuple(conflicts(objects, proposed.changes)),
        ignored=proposed.ignored,
        evaluated=len(rows),
        unaffected=unaffected,
    )


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    raw = (document or {}).get("Statement") or []
    return [s for s in ([raw] if isinstance(raw, dict) else raw) if isinstance(s, Mapping)]


def _principals(statement: Mapping[str, Any]) -> set[str]:
    principal = statement.get("Principal")
    aws = principal.get("AWS", []) if isinstance(principal, Mapping) else []
    return {aws} if isinstance(aws, str) else set(aws)


def _current(scenario: Mapping[str, Any], change: Change) -> Mapping[str, Any] | None:
    """The policy the change would replace, as the scenario holds it now."""
    found: Any = None
    if change.kind is Kind.BucketPolicy and (scenario.get("request") or {}).get("bucket") == change.target:
        found = (scenario.get("bucket") or {}).get("policy")
    elif change.kind is Kind.KeyPolicy:
        for arn, key in ((scenario.get("kms") or {}).get("keys") or {}).items():
            if arn == change.target or str(arn).endswith(f":key/{change.target}"):
                found = key.get("policy")
    return found if isinstance(found, Mapping) else None


def conflicts(objects: Mapping[str, Sequence[Scenario]], changes: Iterable[object]) -> list[Conflict]:
    """Proposed whole bucket or key policies that drop the operator's managed statements."""
    out: dict[tuple[str, str], Conflict] = {}
    for change in changes:
        if not isinstance(change, Change) or change.kind not in (Kind.BucketPolicy, Kind.KeyPolicy):
            continue
        owned: re.Pattern[str] = BUCKET_SID if change.kind is Kind.BucketPolicy else KEY_SID
        kept = {str(s.get("Sid", "")) for s in _statements(change.document)}
        for scenarios in objects.values():
            for scenario in scenarios:
                current = _current(scenario, change)
                dropped = [
                    s
                    for s in _statements(current)
                    if owned.match(str(s.get("Sid", ""))) and s.get("Sid") not in kept
                ]
                if not dropped:
                    continue
                key = (change.kind, change.target)
                roles = set().union(*(_principals(s) for s in dropped))
                holders = sorted(
                    n
                    for n, ss in objects.items()
                    if any(str((x.get("request") or {}).get("principal")) in roles for x in ss)
                )
                sids = tuple(sorted({str(s["Sid"]) for s in dropped}))
                out[key] = Conflict(
                    resource=f"{change.kind} {change.target}",
                    source=change.source,
                    sids=sids,
                    objects=tuple(holders),
                )
    return list(out.values())


def dumps(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2) + "\n"
