"""moto in server mode on a free loopback port: a real HTTP endpoint for AWS_ENDPOINT_URL.

The operator under test gets only ``AWS_ENDPOINT_URL`` and dummy credentials (see :meth:`env`);
nothing in the operator knows the endpoint is moto.
"""

from __future__ import annotations

import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

from .controlplane import free_port, spawn, terminate


@dataclass
class MotoServer:
    port: int = 0
    log: Path | None = None
    proc: Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, region: str = "us-east-1") -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
        }

    def start(self, timeout: float = 60.0) -> MotoServer:
        self.port = self.port or free_port()
        if self.log is None:
            self.log = Path(tempfile.mkdtemp(prefix="bucketaccess-moto-")) / "moto.log"
        self.proc = spawn(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)], self.log
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"moto server not ready within {timeout:.0f}s; see {self.log}")

    def reset(self) -> None:
        """Forget every resource (moto's own reset endpoint), between independent tests."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10):
            pass

    def stop(self) -> None:
        terminate(self.proc)
        self.proc = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
