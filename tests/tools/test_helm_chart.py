"""The Helm chart, rendered by the real helm: lint-clean, the same objects as `kubectl kustomize
deploy/` for the default values, accepted by the real API server (server-side dry run), and
refusing a configuration that would put two writers on the same policies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from devenv.controlplane import ControlPlane

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/helm/bucketaccess-operator"
KUBECTL = str(Path(sys.executable).parent / "kubectl")
KUBE_VERSION = "1.34.4"
SERVER_DRY_RUN = ("--server-side", "--force-conflicts", "--dry-run=server", "-f", "-")
# what Helm adds to every object; deploy/ (kustomize) has only name and part-of
HELM_LABELS = {
    "app.kubernetes.io/instance",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "helm.sh/chart",
}


def helm(tool: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([str(tool), *args], capture_output=True, text=True, check=False, timeout=120)
    if check and out.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)}: {out.stderr}")
    return out


def render(tool: Path, *sets: str, crds: bool = True) -> list[dict[str, Any]]:
    args = ["template", "bucketaccess", str(CHART), "--namespace", "bucketaccess-system"]
    args += ["--kube-version", KUBE_VERSION, *(["--include-crds"] if crds else [])]
    for s in sets:
        args += ["--set", s]
    return [d for d in yaml.safe_load_all(helm(tool, *args).stdout) if d]


def comparable(doc: dict[str, Any]) -> tuple[tuple[str, str, str], dict[str, Any]]:
    meta = dict(doc["metadata"])
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in HELM_LABELS}
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    key = (doc["kind"], meta.get("namespace", ""), meta["name"])
    return key, {**doc, "metadata": meta}


def test_lint_is_clean(helm_tool: Path) -> None:
    out = helm(helm_tool, "lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION)
    assert "0 chart(s) failed" in out.stdout
    assert "[WARNING]" not in out.stdout and "[ERROR]" not in out.stdout, out.stdout


def test_default_values_render_what_kustomize_renders(helm_tool: Path) -> None:
    kustomized = subprocess.run(
        [KUBECTL, "kustomize", str(ROOT / "deploy")], capture_output=True, text=True, check=True
    ).stdout
    # Helm installs into a namespace that exists (--create-namespace); deploy/ creates its own
    theirs = dict(comparable(d) for d in yaml.safe_load_all(kustomized) if d and d["kind"] != "Namespace")
    ours = dict(comparable(d) for d in render(helm_tool))
    assert sorted(ours) == sorted(theirs) and len(ours) == 10
    for key, doc in theirs.items():
        assert ours[key] == doc, f"{key} differs between the chart and deploy/"


def test_the_chart_crds_are_the_repository_crds(helm_tool: Path) -> None:
    for crd in sorted((ROOT / "crds").glob("s3access.dev_*.yaml")):
        copy = CHART / "crds" / crd.name
        assert copy.read_text() == crd.read_text(), f"run: cp crds/{crd.name} {copy.relative_to(ROOT)}"


def test_the_prometheus_rule_carries_the_tested_alerts(helm_tool: Path) -> None:
    docs = render(helm_tool, "metrics.prometheusRule.enabled=true", crds=False)
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    assert rule["spec"] == yaml.safe_load((CHART / "files/alerts.yaml").read_text())


def test_two_replicas_without_leader_election_are_refused(helm_tool: Path) -> None:
    args = [
        "template",
        "x",
        str(CHART),
        "--kube-version",
        KUBE_VERSION,
        "--set",
        "leaderElection.enabled=false",
    ]
    out = helm(helm_tool, *args, check=False)
    assert out.returncode != 0 and "needs leaderElection.enabled" in out.stderr
    one = render(helm_tool, "leaderElection.enabled=false", "replicas=1", crds=False)
    deployment = next(d for d in one if d["kind"] == "Deployment")
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    role = next(d for d in one if d["kind"] == "Role")
    assert not any("leases" in r["resources"] for r in role["rules"])


def test_watched_namespaces_get_roles_and_the_cluster_role_shrinks(helm_tool: Path) -> None:
    docs = render(helm_tool, "operator.watchNamespaces={team-a,team-b}", crds=False)
    roles = {d["metadata"]["namespace"] for d in docs if d["kind"] == "Role"}
    assert roles == {"bucketaccess-system", "team-a", "team-b"}
    cluster = next(d for d in docs if d["kind"] == "ClusterRole")
    assert not any("bucketaccesses" in r["resources"] for r in cluster["rules"])
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "run",
        "--namespace",
        "team-a",
        "--namespace",
        "team-b",
    ]


@pytest.mark.e2e
def test_the_rendered_chart_applies_with_server_side_dry_run(
    helm_tool: Path, control_plane: ControlPlane
) -> None:
    def apply(manifests: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KUBECTL, "--kubeconfig", str(control_plane.kubeconfig), "apply", *SERVER_DRY_RUN],
            input=manifests,
            capture_output=True,
            text=True,
            check=False,
        )

    namespaces = "\n---\n".join(
        yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}})
        for n in ("bucketaccess-system", "team-a")
    )
    made = subprocess.run(
        [KUBECTL, "--kubeconfig", str(control_plane.kubeconfig), "apply", "-f", "-"],
        input=namespaces,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    for sets in ((), ("operator.watchNamespaces={team-a}", "serviceAccount.roleArn=")):
        docs = render(helm_tool, *sets)
        out = apply(yaml.safe_dump_all(docs))
        assert out.returncode == 0, out.stderr
        assert out.stdout.count("(server dry run)") == len(docs), out.stdout


def test_the_event_queue_url_becomes_its_variable(helm_tool: Path) -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/111122223333/bucketaccess-change-events"
    docs = render(helm_tool, f"operator.eventQueueUrl={url}", crds=False)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["BUCKETACCESS_EVENT_QUEUE_URL"] == url


def test_the_dashboard_ships_as_an_optional_config_map(helm_tool: Path) -> None:
    assert not [d for d in render(helm_tool, crds=False) if d["metadata"]["name"].endswith("-dashboard")]
    docs = render(helm_tool, "metrics.grafanaDashboard.enabled=true", crds=False)
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads(cm["data"]["bucketaccess-operator.json"])
    assert shipped == json.loads((CHART / "files" / "dashboard.json").read_text())
