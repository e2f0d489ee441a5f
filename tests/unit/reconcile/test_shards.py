"""Two shards (two processes, each its own record name) with objects on one bucket and one key,
against one in-memory AWS: each pass writes only its shard's statements and grants, repeated
passes write nothing, and one shard's sweep and cleanup leave the other's in place."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from bucketaccess.grants.shard import Shard
from bucketaccess.reconcile import WriteDeps, release, sweep
from tests.unit.reconcile.test_pass import (
    ACCOUNT,
    BUCKET,
    KEY,
    PEER_ROLE,
    ROLE,
    World,
    class_spec,
    peer,
    subject,
    world,
)

ADMIN = {
    "Sid": "Admins",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": ["kms:PutKeyPolicy", "kms:DescribeKey"],
    "Resource": "*",
}
A, B = Shard.of("shard-a"), Shard.of("shard-b")


def two_shards(kms: str) -> tuple[World, World]:
    a = world(peers=True)
    a.aws.buckets[BUCKET].encryption = {"algorithm": "aws:kms", "kmsKeyArn": KEY, "bucketKeyEnabled": True}
    a.aws.add_key(KEY, {"Version": "2012-10-17", "Statement": [ADMIN]})
    a.shared = WriteDeps(writer=a.aws, cache=a.cache, shard=A)
    b = World(aws=a.aws)
    b.shared = WriteDeps(writer=b.aws, cache=b.cache, shard=B)
    return a, b


def statements_of(text: str | None, shard: Shard, kind: str) -> list[dict[str, Any]]:
    owned = shard.bucket_sids if kind == "bucket" else shard.key_sids
    raw = json.loads(text)["Statement"] if text else []
    return [s for s in raw if owned.match(str(s.get("Sid", "")))]


def held_by(w: World, shard: Shard) -> dict[str, int]:
    aws = w.aws
    return {
        "bucket": len(statements_of(aws.buckets[BUCKET].policy, shard, "bucket")),
        "key": len(statements_of(aws.keys[KEY].policy, shard, "key")),
        "grants": sum(1 for g in aws.keys[KEY].grants if shard.grant_names.match(str(g.get("Name", "")))),
    }


@pytest.mark.parametrize("kms", ["KeyPolicy", "Grant"])
def test_two_shards_keep_each_others_grants_and_sweep_only_their_own(kms: str) -> None:
    a, b = two_shards(kms)
    cls = class_spec("Manage", kms)
    mine, theirs = subject(ROLE, cls, name="a"), subject(PEER_ROLE, cls, name="b")
    a.run(mine)
    b.run(theirs)
    wanted = {"bucket": 1, "key": int(kms == "KeyPolicy"), "grants": int(kms == "Grant")}
    assert held_by(a, A) == wanted and held_by(b, B) == wanted
    # no flapping: twenty more passes of each write nothing
    written = len(a.aws.writes)
    for _ in range(20):
        a.run(mine)
        b.run(theirs)
    assert len(a.aws.writes) == written
    # shard A's object is gone (its sweep finds no live object): only A's statements and grants go
    for target in ({"bucket": BUCKET}, {"key": KEY}):
        _, holds = sweep(peers=[], writes=a.writes(), **target)
        assert not holds
    assert held_by(a, A) == {"bucket": 0, "key": 0, "grants": 0} and held_by(b, B) == wanted
    assert ADMIN in json.loads(a.aws.keys[KEY].policy or "{}")["Statement"]
    # and shard B's cleanup of its own object leaves nothing of either
    done = b.run(theirs)
    assert done.managed is not None
    release(theirs, done.managed, [], b.writes(), uid="uid-b")
    assert held_by(b, B) == {"bucket": 0, "key": 0, "grants": 0}
    assert a.aws.buckets[BUCKET].policy is None


@pytest.mark.parametrize("kms", ["KeyPolicy", "Grant"])
def test_a_shard_whose_record_predates_tags_replaces_its_untagged_names_once(kms: str) -> None:
    """Before tags, shard A wrote the untagged names; after the upgrade its passes write its tagged
    ones beside them, and its sweep of the bucket and key, owning the untagged names once, removes
    them. Shard B's statements and grants stay."""
    a, b = two_shards(kms)
    cls = class_spec("Manage", kms)
    mine, theirs = subject(ROLE, cls, name="a"), subject(PEER_ROLE, cls, name="b")
    before_upgrade = World(aws=a.aws)  # the default (untagged) names
    before_upgrade.run(mine)
    b.run(theirs)
    a.run(mine)
    untagged = Shard()
    assert held_by(a, untagged)["bucket"] == 1 and held_by(a, A)["bucket"] == 1
    mine_peer = peer(ROLE, cls=cls, managed_key=KEY, bucket_key=True)
    for target in ({"bucket": BUCKET}, {"key": KEY}):
        sweep(peers=[mine_peer], writes=replace(a.writes(), shard=A.adopting()), **target)
    wanted = {"bucket": 1, "key": int(kms == "KeyPolicy"), "grants": int(kms == "Grant")}
    assert held_by(a, untagged) == {"bucket": 0, "key": 0, "grants": 0}
    assert held_by(a, A) == wanted and held_by(b, B) == wanted
