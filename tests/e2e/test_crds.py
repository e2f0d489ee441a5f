"""The CRDs on a real API server: they install, samples pass, and bad manifests are refused
with an error that names the offending field (OpenAPI schema + CEL)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.e2e.kube import ROOT, create, ensure_namespace, load_docs

pytestmark = pytest.mark.e2e

GOOD_BA: dict[str, Any] = {
    "apiVersion": "s3access.dev/v1alpha1",
    "kind": "BucketAccess",
    "metadata": {"name": "placeholder", "namespace": "crd-tests"},
    "spec": {
        "className": "billing-uploads",
        "bucket": "awsdoc-example-bucket",
        "prefix": "invoices/",
        "role": {"arn": "arn:aws:iam::111122223333:role/billing-uploader"},
        "upload": {"acl": "bucket-owner-full-control", "encryption": {"algorithm": "aws:kms"}},
        "verifyInterval": "5m",
    },
}
GOOD_CLASS: dict[str, Any] = {
    "apiVersion": "s3access.dev/v1alpha1",
    "kind": "BucketAccessClass",
    "metadata": {"name": "placeholder"},
    "spec": {
        "namespaceSelector": {"matchLabels": {"team": "billing"}},
        "buckets": ["awsdoc-example-*"],
        "roles": ["arn:aws:iam::111122223333:role/billing-*"],
        "reconcile": {"bucketPolicy": "Manage", "kmsKeyUsers": "KeyPolicy"},
    },
}


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = doc
    for p in parents:
        node = node.setdefault(p, {})
    if value is _DELETE:
        node.pop(last, None)
    else:
        node[last] = value


_DELETE = object()

# (id, base, changes, the field the error must name)
BAD: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("bucket-uppercase", GOOD_BA, {"spec.bucket": "Invoices-Bucket"}, "spec.bucket"),
    ("bucket-underscore", GOOD_BA, {"spec.bucket": "invoices_bucket"}, "spec.bucket"),
    ("bucket-too-short", GOOD_BA, {"spec.bucket": "ab"}, "spec.bucket"),
    ("bucket-double-dot", GOOD_BA, {"spec.bucket": "invoices..bucket"}, "spec.bucket"),
    ("bucket-ip-address", GOOD_BA, {"spec.bucket": "192.168.10.12"}, "spec.bucket"),
    (
        "role-user-arn",
        GOOD_BA,
        {"spec.role": {"arn": "arn:aws:iam::111122223333:user/alice"}},
        "spec.role.arn",
    ),
    ("role-arn-short-account", GOOD_BA, {"spec.role": {"arn": "arn:aws:iam::1111:role/x"}}, "spec.role.arn"),
    (
        "role-both",
        GOOD_BA,
        {"spec.role": {"arn": "arn:aws:iam::111122223333:role/x", "serviceAccountName": "uploader"}},
        "spec.role",
    ),
    ("role-neither", GOOD_BA, {"spec.role": {}}, "spec.role"),
    ("role-missing", GOOD_BA, {"spec.role": _DELETE}, "spec.role"),
    ("classname-missing", GOOD_BA, {"spec.className": _DELETE}, "spec.className"),
    (
        "kms-key-without-kms-algorithm",
        GOOD_BA,
        {
            "spec.upload.encryption": {
                "algorithm": "AES256",
                "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab",
            }
        },
        "spec.upload.encryption.kmsKeyArn",
    ),
    (
        "bucket-key-without-kms-algorithm",
        GOOD_BA,
        {"spec.upload.encryption": {"algorithm": "AES256", "bucketKeyEnabled": True}},
        "spec.upload.encryption.bucketKeyEnabled",
    ),
    (
        "object-lock-mode-without-date",
        GOOD_BA,
        {"spec.upload.objectLock": {"mode": "GOVERNANCE"}},
        "spec.upload.objectLock.mode",
    ),
    (
        "object-lock-bad-legal-hold",
        GOOD_BA,
        {"spec.upload.objectLock": {"legalHold": "YES"}},
        "spec.upload.objectLock.legalHold",
    ),
    ("storage-class-unknown", GOOD_BA, {"spec.upload.storageClass": "COLD"}, "spec.upload.storageClass"),
    (
        "encryption-context-without-kms",
        GOOD_BA,
        {
            "spec.upload.encryptionContext": {"team": "billing"},
            "spec.upload.encryption": {"algorithm": "AES256"},
        },
        "spec.upload.encryptionContext",
    ),
    (
        "encryption-context-s3-arn",
        GOOD_BA,
        {"spec.upload.encryptionContext": {"aws:s3:arn": "arn:aws:s3:::x"}},
        "spec.upload.encryptionContext",
    ),
    (
        "upload-header-not-listed",
        GOOD_BA,
        {"spec.upload.headers": {"x-amz-acl": "public-read"}},
        "spec.upload.headers",
    ),
    (
        "too-many-tags",
        GOOD_BA,
        {"spec.upload.tags": {f"k{i}": "v" for i in range(11)}},
        "spec.upload.tags",
    ),
    (
        "kms-key-malformed",
        GOOD_BA,
        {"spec.upload.encryption": {"algorithm": "aws:kms", "kmsKeyArn": "1234abcd"}},
        "spec.upload.encryption.kmsKeyArn",
    ),
    (
        "encryption-without-algorithm",
        GOOD_BA,
        {"spec.upload.encryption": {"kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/k"}},
        "spec.upload.encryption.algorithm",
    ),
    ("interval-five-seconds", GOOD_BA, {"spec.verifyInterval": "5s"}, "spec.verifyInterval"),
    ("interval-words", GOOD_BA, {"spec.verifyInterval": "five minutes"}, "spec.verifyInterval"),
    ("prefix-leading-slash", GOOD_BA, {"spec.prefix": "/invoices/"}, "spec.prefix"),
    ("prefix-wildcard", GOOD_BA, {"spec.prefix": "invoices/*"}, "spec.prefix"),
    ("acl-unknown", GOOD_BA, {"spec.upload.acl": "public"}, "spec.upload.acl"),
    ("vpce-malformed", GOOD_BA, {"spec.vpcEndpointId": "vpc-1234"}, "spec.vpcEndpointId"),
    ("action-without-service", GOOD_BA, {"spec.actions": ["PutObject"]}, "spec.actions[0]"),
    ("action-duplicate", GOOD_BA, {"spec.actions": ["s3:GetObject", "s3:GetObject"]}, "spec.actions[1]"),
    ("unknown-field-strict", GOOD_BA, {"spec.bukket": "awsdoc-example-bucket"}, "spec.bukket"),
    ("multipart-not-bool", GOOD_BA, {"spec.upload.multipart": "yes"}, "spec.upload.multipart"),
    (
        "class-unknown-reconcile-mode",
        GOOD_CLASS,
        {"spec.reconcile.bucketPolicy": "Sometimes"},
        "spec.reconcile.bucketPolicy",
    ),
    (
        "class-unknown-kms-mode",
        GOOD_CLASS,
        {"spec.reconcile.kmsKeyUsers": "Admin"},
        "spec.reconcile.kmsKeyUsers",
    ),
    ("class-no-buckets", GOOD_CLASS, {"spec.buckets": []}, "spec.buckets"),
    ("class-buckets-missing", GOOD_CLASS, {"spec.buckets": _DELETE}, "spec.buckets"),
    (
        "class-role-not-role-arn",
        GOOD_CLASS,
        {"spec.roles": ["arn:aws:iam::111122223333:user/*"]},
        "spec.roles[0]",
    ),
    (
        "class-selector-in-without-values",
        GOOD_CLASS,
        {"spec.namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In"}]}},
        "spec.namespaceSelector.matchExpressions[0]",
    ),
    (
        "class-unknown-field-strict",
        GOOD_CLASS,
        {"spec.reconcile.deleteBuckets": True},
        "spec.reconcile.deleteBuckets",
    ),
]


@pytest.fixture(scope="module")
def crd_ns(kube: client.ApiClient) -> str:
    ensure_namespace(kube, "crd-tests")
    ensure_namespace(kube, "billing", {"team": "billing"})
    return "crd-tests"


def test_crds_are_established_with_printer_columns(kube: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(kube)
    crd = ext.read_custom_resource_definition("bucketaccesses.s3access.dev")
    assert any(c.type == "Established" and c.status == "True" for c in crd.status.conditions)
    assert crd.spec.names.short_names == ["ba"]
    columns = crd.spec.versions[0].additional_printer_columns
    assert [c.name.upper() for c in columns if not c.priority] == [
        "BUCKET",
        "PREFIX",
        "ROLE",
        "READY",
        "REASON",
        "VERIFIED",
        "AGE",
    ]
    # kubectl get ba -o wide adds the class's verdict
    assert [c.name.upper() for c in columns if c.priority] == ["ADMITTED", "ADMISSION"]


def test_every_sample_is_accepted(kube: client.ApiClient, crd_ns: str) -> None:
    docs = [d for p in sorted((ROOT / "crds" / "samples").glob("*.yaml")) for d in load_docs(p)]
    assert len(docs) >= 3
    for doc in sorted(docs, key=lambda d: d["kind"] != "BucketAccessClass"):
        created = create(kube, doc)
        assert created["metadata"]["uid"]


def test_defaults_are_applied_by_the_api_server(kube: client.ApiClient, crd_ns: str) -> None:
    doc = copy.deepcopy(GOOD_BA)
    doc["metadata"]["name"] = "defaults"
    del doc["spec"]["prefix"]
    assert create(kube, doc)["spec"]["prefix"] == ""
    cls = copy.deepcopy(GOOD_CLASS)
    cls["metadata"]["name"] = "defaults-class"
    del cls["spec"]["reconcile"]
    assert create(kube, cls)["spec"]["reconcile"] == {"bucketPolicy": "Observe", "kmsKeyUsers": "Observe"}


def test_the_bad_manifest_table_is_large_enough() -> None:
    assert len(BAD) >= 20


@pytest.mark.parametrize(("base", "changes", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_manifest_is_refused_naming_the_field(
    kube: client.ApiClient, crd_ns: str, base: dict[str, Any], changes: dict[str, Any], field: str
) -> None:
    doc = copy.deepcopy(base)
    doc["metadata"]["name"] = (
        "bad-" + field.replace(".", "-").replace("[", "-").replace("]", "").lower()[-40:]
    )
    for path, value in changes.items():
        _set(doc, path, value)
    with pytest.raises(ApiException) as info:
        create(kube, doc)
    assert info.value.status in (400, 422), info.value.body
    assert field in info.value.body, f"error does not name {field}: {info.value.body}"


# CEL refusals name the offending value (messageExpression), not only the rule
CEL_VALUES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("bucket-double-dot", GOOD_BA, {"spec.bucket": "invoices..bucket"}, 'bucket "invoices..bucket" contains'),
    ("bucket-ip", GOOD_BA, {"spec.bucket": "192.168.10.12"}, 'bucket "192.168.10.12" looks like an IP'),
    ("prefix-slash", GOOD_BA, {"spec.prefix": "/invoices/"}, 'prefix "/invoices/" starts with'),
    ("prefix-wildcard", GOOD_BA, {"spec.prefix": "inv*"}, 'prefix "inv*" contains a wildcard'),
    (
        "role-both",
        GOOD_BA,
        {"spec.role": {"arn": "arn:aws:iam::111122223333:role/x", "serviceAccountName": "uploader"}},
        "role.arn (arn:aws:iam::111122223333:role/x) and role.serviceAccountName (uploader) are both set",
    ),
    ("role-neither", GOOD_BA, {"spec.role": {}}, "neither role.arn nor role.serviceAccountName is set"),
    (
        "kms-key-aes",
        GOOD_BA,
        {
            "spec.upload.encryption": {
                "algorithm": "AES256",
                "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/k1",
            }
        },
        "arn:aws:kms:us-east-1:111122223333:key/k1 requires algorithm aws:kms, not AES256",
    ),
    (
        "interval",
        GOOD_BA,
        {"spec.verifyInterval": "5s"},
        "verifyInterval 5s is shorter than the minimum of 30s",
    ),
    ("class-prefix-slash", GOOD_CLASS, {"spec.prefixes": ["/x/*"]}, 'prefix pattern "/x/*" must not start'),
    (
        "class-selector",
        GOOD_CLASS,
        {"spec.namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In"}]}},
        "operator In needs values (key team)",
    ),
]


@pytest.mark.parametrize(
    ("base", "changes", "words"), [b[1:] for b in CEL_VALUES], ids=[b[0] for b in CEL_VALUES]
)
def test_a_cel_refusal_names_the_offending_value(
    kube: client.ApiClient, crd_ns: str, base: dict[str, Any], changes: dict[str, Any], words: str
) -> None:
    doc = copy.deepcopy(base)
    doc["metadata"]["name"] = "cel-" + next(iter(changes)).replace(".", "-").lower()[-40:]
    for path, value in changes.items():
        _set(doc, path, value)
    with pytest.raises(ApiException) as info:
        create(kube, doc)
    body = json.loads(info.value.body)["message"]
    assert words in body, body


def test_an_upload_stating_every_typed_header_is_accepted(kube: client.ApiClient, crd_ns: str) -> None:
    doc = copy.deepcopy(GOOD_BA)
    doc["metadata"]["name"] = "every-upload-header"
    doc["spec"]["upload"] |= {
        "tags": {"classification": "internal"},
        "storageClass": "STANDARD_IA",
        "objectLock": {"mode": "GOVERNANCE", "retainUntilDate": "2027-01-01T00:00:00Z", "legalHold": "ON"},
        "encryptionContext": {"department": "billing"},
        "headers": {"if-none-match": "*"},
    }
    created = create(kube, doc)
    assert created["spec"]["upload"]["objectLock"]["legalHold"] == "ON"
