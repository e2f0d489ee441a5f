"""Build the command-line tools the tests drive (helm, promtool) from their Go modules.

Each tool is built once per machine with ``go install module/cmd@version`` into a folder keyed by
its version, ``~/.cache/bucketaccess/tools/<name>-<version>/``, so a fresh clone on the same
machine builds nothing; ``.cache/tools`` inside the clone holds a link to each binary. The
install goes to a ``.partial`` folder first and is renamed into place: an interrupted build never
looks finished. ``$BUCKETACCESS_TOOLS`` (a folder holding both binaries) skips the build.

Standard library only, like :mod:`devenv.envtest_build`: it runs before the virtualenv is used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Tool:
    name: str
    package: str  # the main package that `go install` builds
    version: str

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}"


# promtool's module is versioned v0.<minor><patch>: v0.316.0 is Prometheus 3.16.0.
TOOLS = (
    Tool("helm", "helm.sh/helm/v3/cmd/helm", "v3.22.0"),
    Tool("promtool", "github.com/prometheus/prometheus/cmd/promtool", "v0.316.0"),
)


class BuildError(RuntimeError):
    """A tool could not be built; the message says what failed and where its log is."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bucketaccess" / "tools"


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def ensure(tool: Tool) -> Path:
    """The path of the tool's binary, building it first if this machine has not yet."""
    preset = os.environ.get("BUCKETACCESS_TOOLS")
    if preset:
        found = Path(preset) / tool.name
        if not _executable(found):
            raise BuildError(
                f"BUCKETACCESS_TOOLS={preset} holds no executable {tool.name}; unset it to build one"
            )
        return found
    folder = cache_root() / tool.key
    binary = folder / tool.name
    if _executable(binary):
        return binary
    go = shutil.which("go")
    if go is None:
        raise BuildError(f"go is not on PATH: it is needed once to build {tool.name} {tool.version}")
    partial = cache_root() / (tool.key + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    log = cache_root() / (tool.key + ".log")
    print(f"building {tool.name} {tool.version} into {folder} (log: {log})", file=sys.stderr, flush=True)
    env = {**os.environ, "GOBIN": str(partial), "CGO_ENABLED": "0"}
    cmd = [go, "install", "-trimpath", f"{tool.package}@{tool.version}"]
    with log.open("wb") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0 or not _executable(partial / tool.name):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:])
        raise BuildError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}); last lines of {log}:\n{tail}")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return binary


def link(binary: Path, link_dir: Path) -> None:
    link_dir.mkdir(parents=True, exist_ok=True)
    target = link_dir / binary.name
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(binary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", type=Path, help="link each binary into this folder")
    args = parser.parse_args(argv)
    try:
        for tool in TOOLS:
            binary = ensure(tool)
            if args.link is not None:
                link(binary, args.link)
            print(binary)
    except BuildError as exc:
        print(f"tools: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
