"""Merge managed statements into a live policy: everything we do not own stays as it was.

Foreign statements keep their content, their key order and their position; ours (owned by Sid)
are replaced as a set and appended after them. The result is compared semantically with the live
policy, so an equal policy is never rewritten. Guards refuse, as data, what must never be written:
a policy over AWS's size limit, a key-policy change that would drop or alter a statement letting
anyone call kms:PutKeyPolicy, or a Deny of ours.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ..policy.wildcards import action_matches
from ..vocabulary import Reason

BUCKET_POLICY_LIMIT = 20 * 1024
KEY_POLICY_LIMIT = 32 * 1024
_UNIQUE_ID = re.compile(r"^(AROA|AIDA)[A-Z0-9]{8,}$")


# Why a managed write is not made, or did not take: the reasons of the write path, a subset of
# Reason (Reconciled reports them as they are). The merge refuses the first three before anything
# is written; the write procedure adds the others, which happen at or after the write (their
# wording says so) or, for a KMS grant, before it.
WriteRefusal = Literal[
    Reason.PolicySizeLimit,
    Reason.LockoutRisk,
    Reason.UnreadablePolicy,
    Reason.WriteNotVerified,
    Reason.WriteFailed,
    Reason.GrantNeedsBucketKey,
]


@dataclass(frozen=True)
class Merge:
    document: dict[str, Any] | None  # None: the policy should not exist (delete it)
    changed: bool
    text: str | None = None  # what to write
    added: tuple[str, ...] = ()  # Sids of ours that appear or change
    removed: tuple[str, ...] = ()  # Sids of ours that go
    stale_principals: tuple[str, ...] = ()  # unique ids AWS left for deleted roles in ours
    refusal: WriteRefusal | None = None
    detail: str = ""
    foreign: tuple[dict[str, Any], ...] = field(default=())
    principals_added: tuple[str, ...] = ()  # roles ours grant now and did not before
    principals_removed: tuple[str, ...] = ()  # roles ours granted and no longer do


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    raw = document.get("Statement", [])
    return [raw] if isinstance(raw, dict) else list(raw)


def canonical(statement: Any) -> str:
    """Order-insensitive form for comparing statements (lists sorted, one-element lists as scalars)."""

    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: norm(x) for k, x in sorted(v.items())}
        if isinstance(v, list):
            items = sorted((norm(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
            return items[0] if len(items) == 1 else items
        return v

    return json.dumps(norm(statement), sort_keys=True)


def _principals(statement: dict[str, Any]) -> list[str]:
    aws = (
        (statement.get("Principal") or {}).get("AWS", [])
        if isinstance(statement.get("Principal"), dict)
        else []
    )
    return [aws] if isinstance(aws, str) else list(aws)


def lets_put_key_policy(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    actions = statement.get("Action")
    if actions is None:
        not_actions = statement.get("NotAction", [])
        not_actions = [not_actions] if isinstance(not_actions, str) else not_actions
        return not any(action_matches(a, "kms:PutKeyPolicy") for a in not_actions)
    actions = [actions] if isinstance(actions, str) else actions
    return any(action_matches(a, "kms:PutKeyPolicy") for a in actions)


def merge(
    live_text: str | None,
    desired: list[dict[str, Any]],
    owned: re.Pattern[str],
    *,
    limit: int,
    key_policy: bool = False,
) -> Merge:
    """``desired`` (ours, owned by Sid) merged into the live policy; a refusal is data, not raised."""
    if any(s.get("Effect") != "Allow" for s in desired):
        raise ValueError("the operator writes Allow statements only")  # a bug, never a runtime case
    parsed = _parse_live(live_text)
    if isinstance(parsed, Merge):
        return parsed
    live, live_statements = parsed
    foreign, ours_live = _split_ours(live_statements, owned)
    ours_new = {str(s["Sid"]): s for s in desired}
    change = _OursChange.between(ours_live, ours_new)
    statements = [*foreign, *[ours_new[sid] for sid in sorted(ours_new)]]
    if not statements:
        return change.merge(None, change.changed or bool(live_text), None, foreign)
    document = _document(live, statements)
    text = dumps(document)
    if not change.changed:
        return change.merge(document, False, text, foreign)
    # the guards, on a policy that would be written
    refused = _over_limit(text, limit)
    if refused is None and key_policy:
        refused = _lockout_risk(live_statements, statements)
    if refused is not None:
        return change.refused(*refused)
    return change.merge(document, True, text, foreign)


def _parse_live(live_text: str | None) -> tuple[dict[str, Any], list[Any]] | Merge:
    """The live policy and its statements ({} and [] when there is none), or the refusal to
    merge into a policy that cannot be read."""
    if not live_text:
        return {}, []
    try:
        live = json.loads(live_text)
        live_statements = _statements(live)
    except (ValueError, AttributeError):
        return Merge(None, False, refusal=Reason.UnreadablePolicy, detail="the live policy is not JSON")
    if not isinstance(live, dict):
        return Merge(
            None, False, refusal=Reason.UnreadablePolicy, detail="the live policy is not a JSON object"
        )
    return live, live_statements


def _split_ours(
    live_statements: list[Any], owned: re.Pattern[str]
) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """The foreign statements, in their order and as they are, and ours by Sid."""
    foreign: list[Any] = []
    ours: dict[str, dict[str, Any]] = {}
    for s in live_statements:
        if isinstance(s, dict) and owned.match(str(s.get("Sid", ""))):
            ours[str(s["Sid"])] = s
        else:
            foreign.append(s)
    return foreign, ours


@dataclass(frozen=True)
class _OursChange:
    """How our statements differ between the live policy and the wanted one."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    stale: tuple[str, ...]
    principals_added: tuple[str, ...]
    principals_removed: tuple[str, ...]

    @classmethod
    def between(
        cls, ours_live: dict[str, dict[str, Any]], ours_new: dict[str, dict[str, Any]]
    ) -> _OursChange:
        had = {p for s in ours_live.values() for p in _principals(s)}
        wants = {p for s in ours_new.values() for p in _principals(s)}
        return cls(
            added=tuple(
                sorted(
                    sid
                    for sid, s in ours_new.items()
                    if sid not in ours_live or canonical(ours_live[sid]) != canonical(s)
                )
            ),
            removed=tuple(sorted(sid for sid in ours_live if sid not in ours_new)),
            stale=tuple(sorted(p for p in had if _UNIQUE_ID.match(p))),
            principals_added=tuple(sorted(wants - had)),
            principals_removed=tuple(sorted(had - wants)),
        )

    @property
    def changed(self) -> bool:
        # Foreign statements are carried over as they are, so the policy changes exactly when ours
        # do; where ours stood among them does not matter to AWS, and is no reason to write.
        return bool(self.added or self.removed)

    def merge(
        self, document: dict[str, Any] | None, changed: bool, text: str | None, foreign: list[Any]
    ) -> Merge:
        return Merge(
            document,
            changed,
            text,
            self.added,
            self.removed,
            self.stale,
            foreign=tuple(foreign),
            principals_added=self.principals_added,
            principals_removed=self.principals_removed,
        )

    def refused(self, refusal: WriteRefusal, detail: str) -> Merge:
        return Merge(None, False, None, self.added, self.removed, self.stale, refusal, detail)


def _document(live: dict[str, Any], statements: list[Any]) -> dict[str, Any]:
    """The merged policy: the live Version (or the current one) and Id, then the statements."""
    document: dict[str, Any] = {"Version": live.get("Version", "2012-10-17")}
    if "Id" in live:
        document["Id"] = live["Id"]
    document["Statement"] = statements
    return document


def _over_limit(text: str, limit: int) -> tuple[WriteRefusal, str] | None:
    size = len(text.encode())
    if size > limit:
        return (
            Reason.PolicySizeLimit,
            f"the merged policy would be {size} bytes, over AWS's limit of {limit}",
        )
    return None


def _lockout_risk(live_statements: list[Any], statements: list[Any]) -> tuple[WriteRefusal, str] | None:
    """A key policy change that drops or alters a statement letting someone call
    kms:PutKeyPolicy: whoever could mend the key policy might no longer be able to."""
    before = [canonical(s) for s in live_statements if isinstance(s, dict) and lets_put_key_policy(s)]
    after = {canonical(s) for s in statements if lets_put_key_policy(s)}
    if any(b not in after for b in before):
        return (
            Reason.LockoutRisk,
            "the change would drop or alter a statement that lets someone call kms:PutKeyPolicy",
        )
    return None
