"""CLI commands that start processes or talk to Kubernetes / AWS: ``run`` and ``demo``."""

from __future__ import annotations

import argparse
import logging


def cmd_run(args: argparse.Namespace) -> int:
    import kopf

    from .k8s import handlers  # registers the handlers with Kopf

    del handlers
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    kopf.run(
        standalone=True,
        clusterwide=not args.namespace,
        namespaces=args.namespace or (),
        liveness_endpoint=f"http://0.0.0.0:{args.health_port}/healthz" if args.health_port else None,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .devenv.demo import run_demo  # development tooling: needs the dev extras (make demo installs them)

    return run_demo(once=args.once)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the operator against the current kubeconfig")
    run.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        help="watch only this namespace (repeat for more); default: all",
    )
    run.add_argument(
        "--health-port", type=int, default=8080, help="port of the /healthz liveness endpoint (0: off)"
    )
    run.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="local control plane + local AWS endpoint + the operator + samples")
    demo.add_argument(
        "--once", action="store_true", help="print the status once and exit, stopping everything"
    )
    demo.set_defaults(func=cmd_demo)
