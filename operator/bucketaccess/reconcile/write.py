"""The write procedure: bring one bucket policy, key policy or set of KMS grants to what the
planner wants.

Read fresh, merge only statements whose Sid this shard owns (another shard's are foreign, as
anyone else's), write only when different, re-read and check
that every foreign statement survived and ours are there, then invalidate the cache. Callers hold
the per-bucket / per-key lock, so two passes never interleave their writes to one resource.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ..aws.errors import AwsError, AwsUnavailable, NotFound
from ..grants.merge import BUCKET_POLICY_LIMIT, KEY_POLICY_LIMIT, Merge, WriteRefusal, canonical, merge
from ..grants.plan import (
    GRANT_OPERATIONS,
    Claim,
    WantedGrant,
    bucket_statements,
    covering_sid,
    grant_name,
    held,
    key_grants,
    key_sid,
    key_statements,
)
from ..resources import BucketPolicyMode, KMSKeyUsersMode
from ..vocabulary import EventType, Reason
from .types import Event, WriteDeps

log = logging.getLogger(__name__)

# Each refusal in its own words: the first three stop before anything is written, the last two
# happen at or after the write, and must not claim otherwise.
_WORDING: dict[WriteRefusal, str] = {
    Reason.PolicySizeLimit: "{target}: {detail}; nothing was written",
    Reason.LockoutRisk: "{target}: {detail}; nothing was written",
    Reason.UnreadablePolicy: "{target}: {detail}; nothing was written",
    Reason.WriteNotVerified: "{target}: written, but {detail}",
    Reason.WriteFailed: "{target}: AWS refused the write ({detail}); the next pass tries again",
    Reason.GrantNeedsBucketKey: "{target}: {detail}; no grant was created",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """What one resource ended up as, for the Reconciled condition, status.managed and Events."""

    target: str
    wrote: bool = False
    refusal: WriteRefusal | None = None
    detail: str = ""
    sid: str | None = None  # the managed statement that holds the owner's principal
    grant_ids: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    edited: tuple[str, ...] = ()  # Sids of ours that someone else had edited, now put back

    @property
    def message(self) -> str:
        if self.refusal is None:
            return f"{self.target}: in place"
        if self.refusal is Reason.PolicySizeLimit and self.wrote:
            # what did fit (removals, grants kept) was written; this object's grant was not
            return f"{self.target}: {self.detail}; the rest was written"
        return _WORDING[self.refusal].format(target=self.target, detail=self.detail)


def _failed(target: str, exc: AwsError, wrote: bool, sid: str | None = None) -> Applied:
    detail = f"{exc.operation or 'write'}: {exc.code or 'error'}: {exc.message}"
    log.warning("write to %s failed: %s", target, detail)
    return Applied(target=target, wrote=wrote, refusal=Reason.WriteFailed, detail=detail, sid=sid)


def _statements(text: str | None) -> list[object]:
    if not text:
        return []
    raw = json.loads(text).get("Statement", [])
    return [raw] if isinstance(raw, dict) else list(raw)


def _verified(after: str | None, foreign: Iterable[object], desired: list[dict[str, object]]) -> bool:
    held = [canonical(s) for s in _statements(after)]
    want_foreign = [canonical(s) for s in foreign]
    kept = [c for c in held if c in want_foreign]
    return kept == want_foreign and all(canonical(s) in held for s in desired)


def _holds(live: str | None, sid: str, role: str) -> bool:
    """Does the live key policy's statement ``sid`` grant ``role`` already?"""
    for s in _statements(live):
        if isinstance(s, dict) and s.get("Sid") == sid:
            principal = s.get("Principal")
            aws = principal.get("AWS", []) if isinstance(principal, dict) else []
            return role in ([aws] if isinstance(aws, str) else aws)
    return False


def _ours(statements: Iterable[object]) -> dict[str, str]:
    return {str(s.get("Sid")): canonical(s) for s in statements if isinstance(s, dict)}


def _events(kind: str, target: str, m: Merge, edited: tuple[str, ...]) -> tuple[Event, ...]:
    """What changed, in the words of the people it concerns: which roles gained or lost access,
    and which of our statements someone else had edited."""
    granted = Reason.AddedKMSKeyUser if kind == "key" else Reason.GrantedBucketAccess
    revoked = Reason.RemovedKMSKeyUser if kind == "key" else Reason.RemovedBucketAccess
    out: list[Event] = []
    moved = [s for s in m.added if s not in edited]
    if m.principals_added:
        message = f"{target}: {', '.join(m.principals_added)} granted (managed statement {', '.join(moved)})"
        out.append(Event(type=EventType.Normal, reason=granted, message=message))
    elif moved:
        message = f"{target}: managed statement(s) {', '.join(moved)} written"
        out.append(Event(type=EventType.Normal, reason=granted, message=message))
    if m.principals_removed:
        message = f"{target}: {', '.join(m.principals_removed)} no longer granted"
        out.append(Event(type=EventType.Normal, reason=revoked, message=message))
    elif m.removed and not moved:
        # (a Sid is the digest of its statement: a statement that changed is written under a new
        # Sid, and the old one going is part of that change, not a removal of access)
        message = f"{target}: managed statement(s) {', '.join(m.removed)} removed"
        out.append(Event(type=EventType.Normal, reason=revoked, message=message))
    if edited:
        message = f"{target}: managed statement(s) {', '.join(edited)} had been edited outside the operator and were put back"
        out.append(Event(type=EventType.Warning, reason=Reason.RestoredManagedStatement, message=message))
    if m.stale_principals:
        message = f"{target}: principal(s) {', '.join(m.stale_principals)} (a deleted and re-created role) replaced by the role ARN"
        out.append(Event(type=EventType.Warning, reason=Reason.ReplacedStalePrincipal, message=message))
    return tuple(out)


def _change_summary(m: Merge, edited: tuple[str, ...]) -> str:
    """One log line that says what the write adds and removes, truthfully."""
    parts = {
        "statements_added": [s for s in m.added if s not in edited],
        "statements_removed": list(m.removed),
        "statements_restored": list(edited),
        "principals_added": list(m.principals_added),
        "principals_removed": list(m.principals_removed),
    }
    return " ".join(f"{k}={','.join(v)}" for k, v in parts.items() if v) or "no_change"


def _unchanged(
    cached: str | Unread | None, desired: list[dict[str, object]], owned: re.Pattern[str], limit: int
) -> bool:
    """The steady state, decided from the shared cache: no fresh read, no write."""
    if isinstance(cached, Unread):
        return False
    m = merge(cached, desired, owned, limit=limit)
    return m.refusal is None and not m.changed


class Unread:
    """No cached copy: go and read."""


UNREAD = Unread()


@dataclass(frozen=True, kw_only=True)
class _PolicyTarget:
    """What differs between a bucket policy and a key policy; the procedure is the same."""

    name: str
    kind: str  # "bucket" | "key"
    owned: re.Pattern[str]
    limit: int
    read: Callable[[], str | None]
    write: Callable[[str], None]
    delete: Callable[[], None] | None  # None: the policy cannot be deleted (a key policy)
    invalidate: Callable[[], None]
    written: dict[str, dict[str, str]]  # what this process last wrote of ours, per target
    # the wanted statements of only those claims the live policy already grants (first come,
    # first served: when everything does not fit, these are kept and removals still written)
    held: Callable[[str | None], list[dict[str, object]]]
    # the Sid of the statement among these that holds the owner's grant (None: it holds none)
    sid_in: Callable[[list[dict[str, object]]], str | None]


def _apply_policy(t: _PolicyTarget, desired: list[dict[str, object]], cached: str | Unread | None) -> Applied:
    sid = t.sid_in(desired)
    if _unchanged(cached, desired, t.owned, t.limit):
        t.written[t.name] = _ours(desired)
        return Applied(target=t.name, sid=sid)
    wanted = sid is not None  # this object wants a statement of its own here
    try:
        live = t.read()  # a write merges into what AWS holds right now
    except AwsUnavailable:
        raise
    except AwsError as exc:
        if isinstance(exc, NotFound):
            raise  # the bucket or key is gone: the caller decides what that means
        return _failed(t.name, exc, wrote=False, sid=sid)
    m = merge(live, desired, t.owned, limit=t.limit, key_policy=t.delete is None)
    crowded: Merge | None = None
    if m.refusal is Reason.PolicySizeLimit:
        # Not everything fits: keep every grant already in place, add none, still write removals.
        kept = t.held(live)
        fallback = merge(live, kept, t.owned, limit=t.limit, key_policy=t.delete is None)
        if fallback.refusal is None:
            crowded, m, desired = m, fallback, kept
            sid = t.sid_in(kept)  # None: this object's grant is the one that does not fit
    expected = t.written.get(t.name)
    held = _ours(
        [s for s in _statements(live) if isinstance(s, dict) and t.owned.match(str(s.get("Sid", "")))]
    )
    # ours as someone else left them: changed since this process last wrote or saw them
    edited = tuple(s for s in m.added if expected is not None and held.get(s) != expected.get(s))
    if m.refusal is not None:
        return Applied(target=t.name, refusal=m.refusal, detail=m.detail, sid=sid)
    if not m.changed:
        t.written[t.name] = _ours(desired)
        return _crowded(t.name, crowded if wanted else None, wrote=False, sid=sid)
    if m.text is None and t.delete is None:
        # A key policy cannot be deleted; with no statements at all it would lock everyone out.
        return Applied(
            target=t.name,
            refusal=Reason.LockoutRisk,
            detail=f"the {t.kind} policy would be left empty",
            sid=sid,
        )
    try:
        if m.text is None:
            assert t.delete is not None
            log.info("Delete%sPolicy %s=%s %s", t.kind.title(), t.kind, t.name, _change_summary(m, edited))
            t.delete()
        else:
            log.info("Put%sPolicy %s=%s %s", t.kind.title(), t.kind, t.name, _change_summary(m, edited))
            t.write(m.text)
    except AwsUnavailable:
        raise  # nothing is known to be written: the scheduler retries the whole pass
    except AwsError as exc:
        return _failed(t.name, exc, wrote=False, sid=sid)
    t.invalidate()
    t.written[t.name] = _ours(desired)
    if not _verified(t.read(), m.foreign, desired):
        return Applied(
            target=t.name,
            wrote=True,
            refusal=Reason.WriteNotVerified,
            detail=f"a fresh read of the {t.kind} policy does not hold what was written (another writer?); the next pass merges again",
            sid=sid,
        )
    events = _events(t.kind, f"{t.kind} {t.name}", m, edited)
    done = _crowded(t.name, crowded if wanted else None, wrote=True, sid=sid, events=events)
    return replace(done, edited=edited)


def _crowded(
    target: str, crowded: Merge | None, *, wrote: bool, sid: str | None, events: tuple[Event, ...] = ()
) -> Applied:
    """The outcome when not every claim fit: refused for the objects whose grant is not in place."""
    if crowded is None or sid is not None:
        return Applied(target=target, wrote=wrote, sid=sid, events=events)
    detail = f"{crowded.detail}; grants already in place were kept, and this one was not added"
    return Applied(
        target=target,
        wrote=wrote,
        refusal=Reason.PolicySizeLimit,
        detail=detail,
        sid=None,
        events=events,
    )


def apply_bucket_policy(
    bucket: str,
    claims: list[Claim],
    owner: Claim | None,
    writes: WriteDeps,
    cached: str | Unread | None = UNREAD,
) -> Applied:
    writer, cache, shard = writes.writer, writes.cache, writes.shard
    target = _PolicyTarget(
        name=bucket,
        kind="bucket",
        owned=shard.bucket_sids,
        limit=BUCKET_POLICY_LIMIT,
        read=lambda: writer.bucket_policy_text(bucket),
        write=lambda text: writer.put_bucket_policy(bucket, text),
        delete=lambda: writer.delete_bucket_policy(bucket),
        invalidate=lambda: cache.invalidate("bucket", bucket),
        written=writes.written,
        held=lambda live: bucket_statements(
            bucket, [c for c in claims if held(bucket, c, _statements(live), shard=shard)], shard=shard
        ),
        sid_in=lambda statements: (
            covering_sid(statements, bucket, owner)
            if owner is not None and owner.bucket_mode is BucketPolicyMode.Manage
            else None
        ),
    )
    return _apply_policy(target, bucket_statements(bucket, claims, shard=shard), cached)


def apply_key_policy(
    key_arn: str,
    claims: list[Claim],
    owner: Claim | None,
    writes: WriteDeps,
    cached: str | Unread | None = UNREAD,
) -> Applied:
    writer, cache, shard = writes.writer, writes.cache, writes.shard
    sid = key_sid(key_arn, shard=shard)
    target = _PolicyTarget(
        name=key_arn,
        kind="key",
        owned=shard.key_sids,
        limit=KEY_POLICY_LIMIT,
        read=lambda: writer.key_policy_text(key_arn),
        write=lambda text: writer.put_key_policy(key_arn, text),
        delete=None,
        invalidate=lambda: cache.invalidate("key"),
        written=writes.written,
        held=lambda live: key_statements(
            key_arn, [c for c in claims if _holds(live, sid, c.role_arn)], shard=shard
        ),
        sid_in=lambda statements: (
            sid
            if owner is not None
            and owner.kms_mode is KMSKeyUsersMode.KeyPolicy
            and _holds(json.dumps({"Statement": statements}), sid, owner.role_arn)
            else None
        ),
    )
    return _apply_policy(target, key_statements(key_arn, claims, shard=shard), cached)


def apply_grants(
    key_arn: str,
    claims: list[Claim],
    owner: Claim | None,
    writes: WriteDeps,
    cached: list[dict[str, object]] | Unread = UNREAD,
) -> Applied:
    """Create the wanted grants that are missing and revoke ours that are no longer wanted;
    ``owner``'s grant id comes back in ``grant_ids``."""
    shard = writes.shard
    desired = key_grants(key_arn, claims, shard=shard)
    mine = (
        grant_name(key_arn, owner.role_arn, owner.bucket, shard=shard)
        if owner is not None and owner.kms_mode is KMSKeyUsersMode.Grant
        else None
    )
    steady = _unchanged_grants(cached, desired, shard.grant_names)
    if steady is not None:
        return Applied(target=key_arn, grant_ids=_id_of(mine, steady))
    try:
        live = _managed_grants(writes.writer.grants(key_arn), shard.grant_names)
    except AwsUnavailable:
        raise
    except AwsError as exc:
        if isinstance(exc, NotFound):
            raise
        return _failed(key_arn, exc, wrote=False)
    done = _GrantWrites(
        key_arn, writes, {name: str(g["GrantId"]) for name, g in live.items() if name in desired}
    )
    try:
        done.create_missing(desired, live)
        done.revoke_unwanted(desired, live)
    except AwsUnavailable:
        done.invalidate()
        raise
    except AwsError as exc:
        done.invalidate()
        return replace(_failed(key_arn, exc, wrote=done.wrote), events=tuple(done.events))
    done.invalidate()
    return Applied(
        target=key_arn, wrote=done.wrote, grant_ids=_id_of(mine, done.ids), events=tuple(done.events)
    )


def _id_of(name: str | None, ids: dict[str, str]) -> tuple[str, ...]:
    """The id of the owner's grant, as status.managed records it: () when it has none."""
    return (ids[name],) if name in ids else ()


def _unchanged_grants(
    cached: list[dict[str, object]] | Unread, desired: dict[str, WantedGrant], owned: re.Pattern[str]
) -> dict[str, str] | None:
    """The steady state, decided from the shared cache: name -> id of our grants when they are
    exactly the wanted ones; None when the key must be read fresh."""
    if isinstance(cached, Unread):
        return None
    held = {
        str(g.get("name", "")): str(g.get("grantId", ""))
        for g in cached
        if owned.match(str(g.get("name", "")))
    }
    return held if set(held) == set(desired) else None


def _managed_grants(listed: list[dict[str, Any]], owned: re.Pattern[str]) -> dict[str, dict[str, Any]]:
    """The shard's grants on the key, by name, in KMS's shape; a grant of someone else (another
    shard's included) is never touched."""
    return {g.get("Name", ""): g for g in listed if owned.match(str(g.get("Name", "")))}


@dataclass
class _GrantWrites:
    """The grant writes on one key, as far as they got: an AWS error may stop them half way, and
    what was done by then is still reported (and the cached key is then stale)."""

    key_arn: str
    writes: WriteDeps
    ids: dict[str, str]  # name -> grant id of each wanted grant in place
    events: list[Event] = field(default_factory=list)
    wrote: bool = False

    def create_missing(self, desired: dict[str, WantedGrant], live: dict[str, dict[str, Any]]) -> None:
        key_arn = self.key_arn
        for name, wanted in sorted(desired.items()):
            if name in live:
                continue
            log.info(
                "CreateGrant key=%s grantee=%s name=%s bucket=%s",
                key_arn,
                wanted.grantee,
                name,
                wanted.bucket,
            )
            self.ids[name] = self.writes.writer.create_grant(
                key_arn, wanted.grantee, list(GRANT_OPERATIONS), name, wanted.constraints
            )
            self._record(
                Reason.AddedKMSKeyUser,
                f"key {key_arn}: grant {name} for {wanted.grantee}, for bucket {wanted.bucket} only, created",
            )

    def revoke_unwanted(self, desired: dict[str, WantedGrant], live: dict[str, dict[str, Any]]) -> None:
        key_arn = self.key_arn
        for name, grant in sorted(live.items()):
            if name in desired:
                continue
            log.info("RevokeGrant key=%s name=%s", key_arn, name)
            self.writes.writer.revoke_grant(key_arn, str(grant["GrantId"]))
            self._record(
                Reason.RemovedKMSKeyUser,
                f"key {key_arn}: grant {name} for {grant.get('GranteePrincipal')} revoked",
            )

    def _record(self, reason: Reason, message: str) -> None:
        self.events.append(Event(type=EventType.Normal, reason=reason, message=message))
        self.wrote = True

    def invalidate(self) -> None:
        # a grant created or revoked: the shared cache's copy of the key no longer holds what KMS does
        if self.wrote:
            self.writes.cache.invalidate("key")
