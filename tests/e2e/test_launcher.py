"""The control-plane launcher starts real processes and leaves none behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from devenv.controlplane import ControlPlane
from tests.e2e.kube import wait_for

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes only once reaped; check /proc state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_stop_leaves_no_process() -> None:
    cp = ControlPlane()
    cp.start()
    pids = cp.pids
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    assert cp.startup_seconds > 0
    cp.stop()
    assert not any(_alive(p) for p in pids)


def test_exception_inside_the_context_still_stops_both() -> None:
    pids: list[int] = []
    with pytest.raises(RuntimeError, match="boom"), ControlPlane() as cp:
        pids = cp.pids
        raise RuntimeError("boom")
    assert pids and not any(_alive(p) for p in pids)


def test_parent_killed_takes_children_along(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A launcher process killed with SIGKILL (no cleanup code runs) must not leave etcd or
    # kube-apiserver running: they die with their parent.
    script = textwrap.dedent(
        """
        import sys, time
        from devenv.controlplane import ControlPlane
        cp = ControlPlane(workdir=__import__("pathlib").Path(sys.argv[1])); cp.start()
        print(*cp.pids, flush=True)
        time.sleep(600)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    wait_for(lambda: not any(_alive(p) for p in pids), 30, f"etcd and kube-apiserver ({pids}) to exit")
