"""Whose managed statements and grants are whose, when several operator processes (shards, each
with its own ``--record-name``) write to one bucket policy, key policy or key.

Each shard names its own with a tag of 8 hex digits derived from its record name, between the
prefix and the digest: ``BucketAccess<tag><32 hex>``, ``BucketAccessKeyUsers<tag><32 hex>``,
``BucketAccess-<tag>-<32 hex>``. The shard of the default record name has no tag, so the names a
deployment wrote before shards could share a bucket stay its own (and the 8-digit Sids of still
earlier versions too). Names of different lengths or tags cannot be equal, so no two shards can
write the same statement or grant; each shard merges, cleans up and sweeps only its own, and every
other shard's is foreign to it (kept as it is, counted by the size guard and the shares).

Two record names share a tag with a chance of 2^-32: the record names are the administrators'
choice, never a tenant's, and the tag of each is in the operator's start-up log.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

DEFAULT_RECORD_NAME = "bucketaccess-managed"
TAG_HEX = 8
_HEX = "[0-9A-F]"
_TAG = re.compile(rf"^{_HEX}{{{TAG_HEX}}}$")

# Managed by some shard (any tag, or none, or an earlier version's 8-digit Sid): what a reader of
# the policy (impact, the tests) counts as the operator's, whichever shard wrote it.
ANY_BUCKET_SID = re.compile(rf"^BucketAccess(?:{_HEX}{{32}}|{_HEX}{{40}}|{_HEX}{{8}}[BR]?)$")
ANY_KEY_SID = re.compile(rf"^BucketAccessKeyUsers(?:{_HEX}{{32}}|{_HEX}{{40}}|{_HEX}{{8}})$")
ANY_GRANT_NAME = re.compile(r"^BucketAccess-")


def tag_of(record_name: str) -> str:
    """The shard tag of a record name: none for the default one."""
    if record_name == DEFAULT_RECORD_NAME:
        return ""
    return hashlib.sha256(f"shard:{record_name}".encode()).hexdigest()[:TAG_HEX].upper()


@dataclass(frozen=True, slots=True)
class Shard:
    """One shard's names, and the patterns that recognise its own among every shard's."""

    tag: str = ""
    # also owns the untagged names (and the 8-digit Sids): a shard whose record predates tags wrote
    # those on its buckets and keys, and takes them over once to replace them with its own
    untagged: bool = False

    def __post_init__(self) -> None:
        if self.tag and not _TAG.match(self.tag):
            raise ValueError(f"a shard tag is {TAG_HEX} upper-case hex digits, not {self.tag!r}")

    @classmethod
    def of(cls, record_name: str) -> Shard:
        return cls(tag_of(record_name))

    def adopting(self) -> Shard:
        """This shard, owning the untagged names as well (it still writes under its own)."""
        return Shard(self.tag, untagged=True)

    @property
    def bucket_sid_prefix(self) -> str:
        return "BucketAccess" + self.tag

    @property
    def key_sid_prefix(self) -> str:
        return "BucketAccessKeyUsers" + self.tag

    @property
    def grant_name_prefix(self) -> str:
        return "BucketAccess-" + (f"{self.tag}-" if self.tag else "")

    def _owned(self, tagged: str, *untagged: str) -> str:
        """The alternatives of a name's tail this shard owns."""
        own = [f"{self.tag}{tagged}"] if self.tag else []
        if not self.tag or self.untagged:
            own += untagged
        return "|".join(own)

    @property
    def bucket_sids(self) -> re.Pattern[str]:
        """This shard's bucket-policy Sids (for the default shard, also those of earlier versions)."""
        tail = self._owned(f"{_HEX}{{32}}", f"{_HEX}{{32}}", f"{_HEX}{{8}}[BR]?")
        return _compiled(rf"^BucketAccess(?:{tail})$")

    @property
    def key_sids(self) -> re.Pattern[str]:
        tail = self._owned(f"{_HEX}{{32}}", f"{_HEX}{{32}}", f"{_HEX}{{8}}")
        return _compiled(rf"^BucketAccessKeyUsers(?:{tail})$")

    @property
    def grant_names(self) -> re.Pattern[str]:
        # untagged: every name of the prefix that no tagged shard writes (earlier versions named
        # grants with shorter digests, and an upgrade revokes them)
        tail = self._owned(f"-{_HEX}{{32}}$", f"(?!{_HEX}{{{TAG_HEX}}}-{_HEX}{{32}}$)")
        return _compiled(rf"^BucketAccess-(?:{tail})")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # a pass asks for its shard's patterns many times; re's own cache is small and shared
    return re.compile(pattern)


DEFAULT_SHARD = Shard()
