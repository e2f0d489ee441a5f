"""The operator as its own process, the way a Deployment runs it, for the e2e tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devenv.controlplane import free_port, spawn, terminate
from tests.iam_policies import read_calls, refused
from tests.operator_entry import CALL_LOG_ENV

ROOT = Path(__file__).resolve().parents[2]


def record_name(log: Path) -> str:
    """A ConfigMap name per operator fixture (its log folder), valid as a DNS subdomain."""
    return "managed-" + re.sub(r"[^a-z0-9-]", "-", log.parent.name.lower())[:50].strip("-")


def replica_args(namespace: str, record: str, lease: str, renew: str, retry: str) -> list[str]:
    """One of several replicas behind one Lease: watching ``namespace``, keeping its record and
    Lease there, with /metrics on a port of its own (writes are counted from it)."""
    return [
        *("--namespace", namespace, "--state-namespace", namespace, "--record-name", record),
        *("--metrics-port", str(free_port()), "--leader-elect"),
        *("--lease-duration", lease, "--renew-deadline", renew, "--retry-period", retry),
    ]


class OperatorProcess:
    def __init__(
        self, kubeconfig: Path, log: Path, args: list[str] | None = None, env: dict[str, str] | None = None
    ):
        self.kubeconfig = kubeconfig
        self.log = log
        self.args = args or []
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.health_port = 0

    def start(self, timeout: float = 60) -> OperatorProcess:
        if "AWS_ENDPOINT_URL" not in self.env:
            # a test must never let the operator reach for the real AWS
            raise ValueError("OperatorProcess needs env with AWS_ENDPOINT_URL (a local endpoint)")
        self.health_port = free_port()
        # the test-side entry point: `bucketaccess run` with the tests' hooks (call log, kill before write)
        path = os.pathsep.join([str(ROOT), str(ROOT / "operator"), os.environ.get("PYTHONPATH", "")])
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PYTHONPATH": path,
            CALL_LOG_ENV: str(self.calls),
            **self.env,
        }
        # each operator of the suite sweeps only what it wrote: its own record (the same across restarts)
        record = [] if "--record-name" in self.args else ["--record-name", record_name(self.log)]
        cmd = [
            sys.executable,
            "-m",
            "tests.operator_entry",
            "run",
            *record,
            "--health-port",
            str(self.health_port),
            *self.args,
        ]
        self.proc = spawn(cmd, self.log, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"operator exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"operator not healthy within {timeout}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def calls(self) -> Path:
        return self.log.with_suffix(".aws-calls.jsonl")

    def metrics(self) -> dict[str, float]:
        """Every sample of the process's /metrics (needs --metrics-port), summed over labels, by name."""
        from prometheus_client.parser import text_string_to_metric_families

        port = self.args[self.args.index("--metrics-port") + 1]
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out[sample.name] = out.get(sample.name, 0.0) + sample.value
        return out

    def writes(self) -> float:
        """AWS and Kubernetes writes this process has made, from its own counters."""
        found = self.metrics()
        return found.get("bucketaccess_aws_writes_total", 0.0) + found.get(
            "bucketaccess_kube_writes_total", 0.0
        )

    def leading(self) -> bool:
        return self.metrics().get("bucketaccess_leader") == 1.0

    def stop(self) -> None:
        """Stop the process; every AWS call it made must be one the IAM policies in deploy/iam/ allow."""
        terminate(self.proc)
        denied = refused(read_calls(self.calls))
        assert not denied, f"the operator made calls its IAM policies (deploy/iam/) do not allow: {denied}"

    def __enter__(self) -> OperatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
