"""The demo's AWS world and Kubernetes objects, as data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .seed import Seeded, Seeder

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = "111122223333"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@dataclass
class DemoWorld:
    world: dict[str, Any]
    objects: list[dict[str, Any]]

    def seed(self, endpoint: str) -> Seeded:
        return Seeder(endpoint).seed(self.world)

    def operator_env(self, seeded: Seeded) -> dict[str, str]:
        return {}

    def operator_args(self) -> list[str]:
        return []

    def manifests(self, seeded: Seeded) -> list[dict[str, Any]]:
        return self.objects

    def object_names(self) -> list[tuple[str, str]]:
        return [
            (o["metadata"]["namespace"], o["metadata"]["name"])
            for o in self.objects
            if o["kind"] == "BucketAccess"
        ]

    def describe(self) -> list[tuple[str, str]]:
        return self.object_names()[:1]


def build_demo() -> DemoWorld:
    uploader = _doc(
        {"Sid": "AllowPut", "Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": "*"}
    )
    world = {
        "account": ACCOUNT,
        "roles": [{"name": "billing-uploader", "inline": {"uploader": uploader}}],
        "buckets": [{"name": "awsdoc-example-bucket"}],
    }
    samples = [
        d
        for p in sorted((ROOT / "crds" / "samples").glob("*.yaml"))
        for d in yaml.safe_load_all(p.read_text())
        if d
    ]
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "billing", "labels": {"team": "billing"}},
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "exporter",
                "namespace": "billing",
                "annotations": {
                    "eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/billing-uploader"
                },
            },
        },
        *samples,
    ]
    return DemoWorld(world, objects)
