"""The operator's durable record of which buckets and keys hold its managed statements or grants.

Each object's ``status.managed`` says what that object holds; this record says where the operator
has written at all, in a ConfigMap of its own namespace, so that a principal whose object is gone
(a finalizer removed by hand, ``s3access.dev/skip-cleanup``, a crash) is still found and removed
by the sweep. A bucket or key is added right before the first write to it, and dropped once the
sweep finds nothing of ours there.

If the ConfigMap cannot be written (RBAC, no such namespace), the record is kept in memory and the
operator says so in its log: the sweep still runs for what this process wrote.

The record also keeps the shard's tag (``shardTag``) and the buckets and keys where the shard may
still hold statements or grants under the untagged names (``untagged``): a record written before
shards had tags lists where such a shard wrote them, and each is swept once owning the untagged
names too, which replaces them with the shard's own.
"""

from __future__ import annotations

import logging
import threading

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..grants.shard import DEFAULT_RECORD_NAME

log = logging.getLogger(__name__)
DEFAULT_NAME = DEFAULT_RECORD_NAME  # the shard whose managed names carry no tag


def _lines(text: str | None) -> set[str]:
    return {line for line in (text or "").splitlines() if line.strip()}


class ManagedRecord:
    def __init__(
        self, api: client.ApiClient, namespace: str, name: str = DEFAULT_NAME, tag: str = ""
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.tag = tag
        self.buckets: set[str] = set()
        self.keys: set[str] = set()
        self.untagged: set[str] = set()  # buckets and keys to take the untagged names over on
        self._lock = threading.Lock()
        self._loaded = False  # never write over a record this process has not read
        self._version: str | None = None  # resourceVersion of the ConfigMap as last read or written
        self._warned = False

    def load(self) -> bool:
        """Read the record (merging into what is known); True once it has been read or found absent."""
        with self._lock:
            return self._load()

    def _load(self) -> bool:
        try:
            found = client.CoreV1Api(self.api).read_namespaced_config_map(self.name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                self._loaded, self._version = True, None
                return True
            self._warn(exc)
            return False
        data = found.data or {}
        buckets, keys = _lines(data.get("buckets")), _lines(data.get("keys"))
        self.buckets |= buckets
        self.keys |= keys
        if "shardTag" in data:
            self.untagged |= _lines(data.get("untagged"))
        elif self.tag:
            # written before shards had tags: this shard wrote the untagged names there
            self.untagged |= buckets | keys
        self._loaded, self._version = True, found.metadata.resource_version if found.metadata else None
        return True

    def snapshot(self) -> tuple[list[str], list[str]]:
        with self._lock:
            return sorted(self.buckets), sorted(self.keys)

    def add(self, *, bucket: str | None = None, key: str | None = None) -> None:
        with self._lock:
            new = (bucket is not None and bucket not in self.buckets) or (
                key is not None and key not in self.keys
            )
            if bucket is not None:
                self.buckets.add(bucket)
            if key is not None:
                self.keys.add(key)
            if new:
                self._save()

    def drop(self, *, bucket: str | None = None, key: str | None = None) -> None:
        with self._lock:
            gone = (bucket in self.buckets) or (key in self.keys)
            self.buckets.discard(bucket or "")
            self.keys.discard(key or "")
            self.untagged -= {bucket or "", key or ""}
            if gone:
                self._save(dropped=(bucket, key))

    def adopts(self, resource: str) -> bool:
        """Does the shard still take the untagged names over on this bucket or key?"""
        with self._lock:
            return resource in self.untagged

    def adopted(self, resource: str) -> None:
        """The untagged names on this bucket or key are replaced: from now on they are foreign."""
        with self._lock:
            if resource in self.untagged:
                self.untagged.discard(resource)
                self._save(adopted=resource)

    def _save(
        self, dropped: tuple[str | None, str | None] = (None, None), adopted: str | None = None
    ) -> None:
        """Write the record with the resourceVersion it was read at; on a conflict read, merge, retry."""
        if not self._loaded and not self._load():
            return  # kept in memory until the record can be read: never overwrite what we have not seen
        core = client.CoreV1Api(self.api)
        for _ in range(3):
            body = client.V1ConfigMap(
                metadata=client.V1ObjectMeta(
                    name=self.name,
                    namespace=self.namespace,
                    resource_version=self._version,
                    labels={"app.kubernetes.io/name": "bucketaccess-operator"},
                ),
                data={
                    "buckets": "\n".join(sorted(self.buckets)),
                    "keys": "\n".join(sorted(self.keys)),
                    "shardTag": self.tag,
                    "untagged": "\n".join(sorted(self.untagged)),
                },
            )
            try:
                if self._version is None:
                    written = core.create_namespaced_config_map(self.namespace, body)
                else:
                    written = core.replace_namespaced_config_map(self.name, self.namespace, body)
            except ApiException as exc:
                if exc.status not in (409, 404):
                    self._warn(exc)
                    return
                # another writer (a rolling update's other process): read theirs, merge, try again
                if not self._load():
                    return
                bucket, key = dropped
                self.buckets.discard(bucket or "")
                self.keys.discard(key or "")
                self.untagged -= {bucket or "", key or "", adopted or ""}
                continue
            self._version = written.metadata.resource_version if written.metadata else None
            return

    def _warn(self, exc: ApiException) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "cannot keep the record of managed buckets and keys in ConfigMap %s/%s (HTTP %s %s); "
                "it is kept in memory only",
                self.namespace,
                self.name,
                exc.status,
                exc.reason,
            )
