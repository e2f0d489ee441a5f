"""CLI commands that start processes or talk to Kubernetes / AWS: ``run`` and ``demo``."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    del sub
