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
    if any(s.get("Effect") != "Allow" for s in desired):
        raise ValueError("the operator writes Allow statements only")  # a bug, never a runtime case
    if live_text:
        try:
            live = json.loads(live_text)
            live_statements = _statements(live)
        except (ValueError, AttributeError):
            return Merge(None, False, refusal=Reason.UnreadablePolicy, detail="the live policy is not JSON")
        if not isinstance(live, dict):
            return Merge(
                None,
                False,
                refusal=Reason.UnreadablePolicy,
                detail="the live policy is not a JSON object",
            )
    else:
        live, live_statements = {}, []
    foreign = [s for s in live_statements if not (isinstance(s, dict) and owned.match(str(s.get("Sid", ""))))]
    ours_live = {
        str(s["Sid"]): s
        for s in live_statements
        if isinstance(s, dict) and owned.match(str(s.get("Sid", "")))
    }
    ours_new = {str(s["Sid"]): s for s in desired}
    added = tuple(
        sorted(
            sid
            for sid, s in ours_new.items()
            if sid not in ours_live or canonical(ours_live[sid]) != canonical(s)
        )
    )
    removed = tuple(sorted(sid for sid in ours_live if sid not in ours_new))
    stale = tuple(sorted({p for s in ours_live.values() for p in _principals(s) if _UNIQUE_ID.match(p)}))
    # Foreign statements are carried over as they are, so the policy changes exactly when ours do;
    # where ours stood among them does not matter to AWS, and is no reason to write.
    changed = bool(added or removed)
    had = {p for s in ours_live.values() for p in _principals(s)}
    wants = {p for s in ours_new.values() for p in _principals(s)}
    principals_added = tuple(sorted(wants - had))
    principals_removed = tuple(sorted(had - wants))
    statements = [*foreign, *[ours_new[sid] for sid in sorted(ours_new)]]
    if not statements:
        return Merge(
            None,
            changed or bool(live_text),
            None,
            added,
            removed,
            stale,
            foreign=tuple(foreign),
            principals_added=principals_added,
            principals_removed=principals_removed,
        )
    document: dict[str, Any] = {"Version": live.get("Version", "2012-10-17")}
    if "Id" in live:
        document["Id"] = live["Id"]
    document["Statement"] = statements
    text = dumps(document)
    result = Merge(
        document,
        changed,
        text,
        added,
        removed,
        stale,
        foreign=tuple(foreign),
        principals_added=principals_added,
        principals_removed=principals_removed,
    )
    if not changed:
        return result
    if len(text.encode()) > limit:
        return Merge(
            None,
            False,
            None,
            added,
            removed,
            stale,
            Reason.PolicySizeLimit,
            f"the merged policy would be {len(text.encode())} bytes, over AWS's limit of {limit}",
        )
    if key_policy:
        before = [canonical(s) for s in live_statements if isinstance(s, dict) and lets_put_key_policy(s)]
        after = {canonical(s) for s in statements if lets_put_key_policy(s)}
        if any(b not in after for b in before):
            return Merge(
                None,
                False,
                None,
                added,
                removed,
                stale,
                Reason.LockoutRisk,
                "the change would drop or alter a statement that lets someone call kms:PutKeyPolicy",
            )
    return result
