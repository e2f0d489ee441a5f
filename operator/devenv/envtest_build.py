"""Build the envtest control-plane binaries (kube-apiserver, etcd) from their Go modules.

kube-apiserver lives in k8s.io/kubernetes, whose go.mod replaces every k8s.io/* staging module
with a local path; a module that imports it as a library must replace each of those by the
published ``v0.Y.Z`` tag instead. etcd's server module carries replace directives too, so
``go install …@version`` is refused and we build it from a wrapper module as well.

Binaries are cached outside the clone, keyed by version, so a fresh clone on the same machine
builds nothing: ``~/.cache/bucketaccess/envtest/k8s-<v>_etcd-<v>/``. ``.cache/envtest`` inside the
clone links there. ``$KUBEBUILDER_ASSETS`` short-circuits everything when it holds both binaries.

Standard library only: this runs before the virtualenv has anything in it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

KUBERNETES_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.16"
BINARIES = ("kube-apiserver", "etcd")


class BuildError(RuntimeError):
    """The binaries could not be produced; the message says what is missing and what to do."""


def version_key() -> str:
    return f"k8s-{KUBERNETES_VERSION}_etcd-{ETCD_VERSION}"


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bucketaccess" / "envtest" / version_key()


def _has_binaries(folder: Path) -> bool:
    return all((folder / name).is_file() and os.access(folder / name, os.X_OK) for name in BINARIES)


def assets_from_env() -> Path | None:
    raw = os.environ.get("KUBEBUILDER_ASSETS")
    if not raw:
        return None
    folder = Path(raw)
    if not _has_binaries(folder):
        raise BuildError(
            f"KUBEBUILDER_ASSETS={raw} does not hold executable kube-apiserver and etcd; "
            "unset it to build them, or point it at a folder that has both"
        )
    return folder


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "go is not on PATH: install Go 1.24 or newer to build kube-apiserver and etcd, "
            "or set KUBEBUILDER_ASSETS to a folder that already holds both binaries "
            "(for example one made by `setup-envtest use -p path`)"
        )
    return go


def _run(cmd: list[str], cwd: Path, log: Path) -> None:
    with log.open("ab") as out:
        out.write(("$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        proc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise BuildError(
            f"`{' '.join(cmd)}` failed in {cwd} (exit {proc.returncode}); last lines of {log}:\n"
            + "\n".join(tail)
            + "\nset KUBEBUILDER_ASSETS to a folder holding kube-apiserver and etcd to skip the build"
        )


def _staging_replaces(go: str, workdir: Path, log: Path) -> list[str]:
    """The k8s.io/* modules that k8s.io/kubernetes replaces by ./staging paths."""
    out = subprocess.run(
        [go, "mod", "download", "-json", f"k8s.io/kubernetes@{KUBERNETES_VERSION}"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        log.write_text(out.stdout + out.stderr)
        raise BuildError(
            f"cannot download k8s.io/kubernetes@{KUBERNETES_VERSION} from the Go module proxy: "
            + (out.stderr.strip().splitlines() or ["no output"])[-1]
        )
    gomod = Path(json.loads(out.stdout)["GoMod"]).read_text()
    return sorted(set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", gomod, re.MULTILINE)))


def _build_kube_apiserver(go: str, work: Path, dest: Path, log: Path) -> None:
    mod = work / "kube-apiserver"
    mod.mkdir(parents=True, exist_ok=True)
    staging_version = "v0." + KUBERNETES_VERSION.split(".", 1)[1]
    replaces = _staging_replaces(go, mod, log)
    lines = ["module local/envtest/kubeapiserver", "", "go 1.24.0", ""]
    lines.append(f"require k8s.io/kubernetes {KUBERNETES_VERSION}")
    lines.append("")
    lines += [f"replace {m} => {m} {staging_version}" for m in replaces]
    (mod / "go.mod").write_text("\n".join(lines) + "\n")
    (mod / "tools.go").write_text(
        '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n'
    )
    _run([go, "mod", "tidy"], mod, log)
    _run(
        [
            go,
            "build",
            "-trimpath",
            "-o",
            str(dest / "kube-apiserver"),
            "k8s.io/kubernetes/cmd/kube-apiserver",
        ],
        mod,
        log,
    )


def _build_etcd(go: str, work: Path, dest: Path, log: Path) -> None:
    mod = work / "etcd"
    mod.mkdir(parents=True, exist_ok=True)
    (mod / "go.mod").write_text(
        f"module local/envtest/etcd\n\ngo 1.24.0\n\nrequire go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n"
    )
    (mod / "tools.go").write_text(
        '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n'
    )
    _run([go, "mod", "tidy"], mod, log)
    _run([go, "build", "-trimpath", "-o", str(dest / "etcd"), "go.etcd.io/etcd/server/v3"], mod, log)


def ensure_binaries(link_dir: Path | None = None) -> Path:
    """Return a folder holding kube-apiserver and etcd, building them once per machine."""
    from_env = assets_from_env()
    if from_env is not None:
        return from_env
    cache = user_cache_dir()
    if not _has_binaries(cache):
        go = _go()
        work = cache.parent / (version_key() + ".work")
        staging = cache.parent / (version_key() + ".partial")
        staging.mkdir(parents=True, exist_ok=True)
        log = cache.parent / (version_key() + ".log")
        env_note = f"building envtest binaries into {cache} (log: {log}); the first build takes many minutes"
        print(env_note, file=sys.stderr, flush=True)
        if not (staging / "etcd").exists():
            _build_etcd(go, work, staging, log)
        if not (staging / "kube-apiserver").exists():
            _build_kube_apiserver(go, work, staging, log)
        # The rename is the commit point: an interrupted build never looks finished.
        if cache.exists():
            shutil.rmtree(cache)
        staging.rename(cache)
        shutil.rmtree(work, ignore_errors=True)
    if link_dir is not None:
        link_dir.parent.mkdir(parents=True, exist_ok=True)
        if link_dir.is_symlink() or link_dir.is_file():
            link_dir.unlink()
        elif link_dir.is_dir():
            shutil.rmtree(link_dir)
        link_dir.symlink_to(cache, target_is_directory=True)
    return cache


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", type=Path, help="make this path a link to the binaries' folder")
    parser.add_argument("--print-dir", action="store_true", help="print the folder and exit")
    args = parser.parse_args(argv)
    try:
        folder = ensure_binaries(args.link)
    except BuildError as exc:
        print(f"envtest: {exc}", file=sys.stderr)
        return 2
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
