"""A real local control plane, the way controller-runtime's envtest runs one: etcd + kube-apiserver
on free loopback ports, a throwaway CA, an admin client certificate in ``system:masters``, and a
kubeconfig. Used by the e2e tests and by ``make demo``; it never talks to anything off loopback.

Both processes die with their parent (``PR_SET_PDEATHSIG``) and :meth:`ControlPlane.stop` waits
for them, so a test that fails or a Ctrl-C leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .envtest_build import ensure_binaries

READY_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: the child is killed if the Python process that started it dies, even by SIGKILL.
    # SIGKILL, not SIGTERM: an orphan's data is throwaway, and kube-apiserver's graceful
    # shutdown can take longer than anyone waiting for it; stop() still terminates gracefully.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    try:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent,
        )
    finally:
        out.close()


def terminate(proc: subprocess.Popen[bytes] | None, grace_s: float = 15.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace_s)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class _Pki:
    """A CA, the API server's serving certificate, an admin client certificate, SA signing keys."""

    folder: Path

    def write(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        now = dt.datetime.now(dt.UTC)

        def key() -> rsa.RSAPrivateKey:
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)

        def save_key(k: rsa.RSAPrivateKey, name: str) -> None:
            (self.folder / name).write_bytes(
                k.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )

        def save_cert(c: x509.Certificate, name: str) -> None:
            (self.folder / name).write_bytes(c.public_bytes(serialization.Encoding.PEM))

        def name(cn: str, org: str | None = None) -> x509.Name:
            attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
            if org:
                attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
            return x509.Name(attrs)

        ca_key = key()
        ca = (
            x509.CertificateBuilder()
            .subject_name(name("bucketaccess-envtest-ca"))
            .issuer_name(name("bucketaccess-envtest-ca"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(ca_key, hashes.SHA256())
        )

        def leaf(subject: x509.Name, server: bool) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
            k = key()
            b = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(ca.subject)
                .public_key(k.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=7))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            )
            if server:
                b = b.add_extension(
                    x509.SubjectAlternativeName(
                        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                    ),
                    critical=False,
                ).add_extension(
                    x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
                )
            else:
                b = b.add_extension(
                    x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
                )
            return k, b.sign(ca_key, hashes.SHA256())

        save_cert(ca, "ca.crt")
        save_key(ca_key, "ca.key")
        serving_key, serving = leaf(name("kube-apiserver"), server=True)
        save_cert(serving, "apiserver.crt")
        save_key(serving_key, "apiserver.key")
        admin_key, admin = leaf(name("envtest-admin", "system:masters"), server=False)
        save_cert(admin, "admin.crt")
        save_key(admin_key, "admin.key")
        sa_key = key()
        save_key(sa_key, "sa.key")
        (self.folder / "sa.pub").write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


@dataclass
class ControlPlane:
    """etcd + kube-apiserver on loopback. Use as a context manager, or call start() / stop()."""

    workdir: Path | None = None
    binaries: Path | None = None
    extra_apiserver_flags: list[str] = field(default_factory=list)
    etcd: subprocess.Popen[bytes] | None = None
    apiserver: subprocess.Popen[bytes] | None = None
    etcd_port: int = 0
    port: int = 0
    startup_seconds: float = 0.0
    _own_workdir: bool = False

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "kubeconfig"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in (self.etcd, self.apiserver) if p is not None]

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        began = time.monotonic()
        if self.binaries is None:
            self.binaries = ensure_binaries()
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="bucketaccess-envtest-"))
            self._own_workdir = True
        (self.workdir / "pki").mkdir(parents=True, exist_ok=True)
        _Pki(self.workdir / "pki").write()
        try:
            self._start_etcd()
            self.start_apiserver()
        except BaseException:
            self.stop()
            raise
        self._write_kubeconfig()
        self.startup_seconds = time.monotonic() - began

    def _start_etcd(self) -> None:
        assert self.workdir is not None and self.binaries is not None
        self.etcd_port = free_port()
        peer = free_port()
        client = f"http://127.0.0.1:{self.etcd_port}"
        cmd = [
            str(self.binaries / "etcd"),
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=default=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ]
        self.etcd = spawn(cmd, self.workdir / "etcd.log")
        self._wait(lambda: self._http_ok(f"{client}/health"), "etcd", self.etcd, self.workdir / "etcd.log")

    def start_apiserver(self) -> None:
        """Start (or restart, on the same etcd and port) kube-apiserver and wait for /readyz."""
        assert self.workdir is not None and self.binaries is not None
        if not self.port:
            self.port = free_port()
        pki = self.workdir / "pki"
        cmd = [
            str(self.binaries / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--secure-port={self.port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            "--authorization-mode=RBAC",
            "--disable-admission-plugins=ServiceAccount",
            f"--service-account-issuer={self.url}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--enable-priority-and-fairness=false",
            "--v=0",
            *self.extra_apiserver_flags,
        ]
        self.apiserver = spawn(cmd, self.workdir / "kube-apiserver.log")
        self._wait(self._ready, "kube-apiserver", self.apiserver, self.workdir / "kube-apiserver.log")

    def stop_apiserver(self) -> None:
        terminate(self.apiserver)
        self.apiserver = None

    def ssl_context(self) -> ssl.SSLContext:
        assert self.workdir is not None
        pki = self.workdir / "pki"
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", context=self.ssl_context(), timeout=5) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError, ssl.SSLError):
            return False

    @staticmethod
    def _http_ok(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    @staticmethod
    def _wait(check: object, what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{what} exited with code {proc.returncode}; last lines of {log}:\n{_tail(log)}"
                )
            if check():  # type: ignore[operator]
                return
            time.sleep(0.2)
        raise TimeoutError(
            f"{what} was not ready within {READY_TIMEOUT_S:.0f}s; last lines of {log}:\n{_tail(log)}"
        )

    def _write_kubeconfig(self) -> None:
        assert self.workdir is not None
        pki = self.workdir / "pki"
        self.kubeconfig.write_text(
            f"""apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster:
    server: {self.url}
    certificate-authority: {pki / "ca.crt"}
users:
- name: envtest-admin
  user:
    client-certificate: {pki / "admin.crt"}
    client-key: {pki / "admin.key"}
contexts:
- name: envtest
  context: {{cluster: envtest, user: envtest-admin}}
current-context: envtest
"""
        )

    def kubeconfig_for_token(self, token: str, path: Path) -> Path:
        """A kubeconfig that authenticates with a bearer token only (for RBAC tests)."""
        assert self.workdir is not None
        path.write_text(
            f"""apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster: {{server: "{self.url}", certificate-authority: "{self.workdir / "pki" / "ca.crt"}"}}
users:
- name: token
  user: {{token: "{token}"}}
contexts:
- name: envtest
  context: {{cluster: envtest, user: token}}
current-context: envtest
"""
        )
        return path

    def stop(self) -> None:
        terminate(self.apiserver)
        terminate(self.etcd)
        self.apiserver = self.etcd = None
        if self._own_workdir and self.workdir is not None and not os.environ.get("BUCKETACCESS_KEEP_ENVTEST"):
            with contextlib.suppress(OSError):
                shutil.rmtree(self.workdir)
