"""The operator's durable record of which buckets and keys hold its managed statements or grants.

Each object's ``status.managed`` says what that object holds; this record says where the operator
has written at all, in a ConfigMap of its own namespace, so that a principal whose object is gone
(a finalizer removed by hand, ``s3access.dev/skip-cleanup``, a crash) is still found and removed
by the sweep. A bucket or key is added right before the first write to it, and dropped once the
sweep finds nothing of ours there.

If the ConfigMap cannot be written (RBAC, no such namespace), the record is kept in memory and the
operator says so in its log: the sweep still runs for what this process wrote.
"""

from __future__ import annotations

import logging
import threading

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)
DEFAULT_NAME = "bucketaccess-managed"


def _lines(text: str | None) -> set[str]:
    return {line for line in (text or "").splitlines() if line.strip()}


class ManagedRecord:
    def __init__(self, api: client.ApiClient, namespace: str, name: str = DEFAULT_NAME) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.buckets: set[str] = set()
        self.keys: set[str] = set()
        self._lock = threading.Lock()
        self._warned = False

    def load(self) -> None:
        try:
            found = client.CoreV1Api(self.api).read_namespaced_config_map(self.name, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                self._warn(exc)
            return
        data = found.data or {}
        with self._lock:
            self.buckets |= _lines(data.get("buckets"))
            self.keys |= _lines(data.get("keys"))

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
            if gone:
                self._save()

    def _save(self) -> None:
        body = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(
                name=self.name,
                namespace=self.namespace,
                labels={"app.kubernetes.io/name": "bucketaccess-operator"},
            ),
            data={"buckets": "\n".join(sorted(self.buckets)), "keys": "\n".join(sorted(self.keys))},
        )
        core = client.CoreV1Api(self.api)
        try:
            try:
                core.replace_namespaced_config_map(self.name, self.namespace, body)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                core.create_namespaced_config_map(self.namespace, body)
        except ApiException as exc:
            self._warn(exc)

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
