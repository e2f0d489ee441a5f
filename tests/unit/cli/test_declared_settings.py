"""Each setting of `bucketaccess run` is declared once (k8s/settings.py) and reaches the program:
the configs' defaults are the declared ones, every declared setting fills a config field or is the
run command's own, and a value of 0 or "" stands for the default where the declaration says so."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from bucketaccess.cli import build_parser
from bucketaccess.cli.common import resolve
from bucketaccess.k8s import settings
from bucketaccess.k8s.config import OperatorConfig
from bucketaccess.k8s.settings import PROCESS_SETTINGS, SETTINGS, Setting, build, fields_of


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for declared in SETTINGS:
        monkeypatch.delenv(declared.env, raising=False)


def resolved(**flags: Any) -> dict[Setting[Any], Any]:
    return {s: resolve(s, flags.get(s.dest)) for s in SETTINGS}


def test_the_defaults_of_the_config_are_the_declared_ones() -> None:
    assert build(OperatorConfig, resolved()) == OperatorConfig()


def test_every_setting_reaches_the_program_once() -> None:
    used = fields_of(OperatorConfig) + list(PROCESS_SETTINGS)
    assert sorted(s.flag for s in used) == sorted(s.flag for s in SETTINGS)
    assert len({s.env for s in SETTINGS}) == len(SETTINGS)


def test_a_given_value_lands_in_its_field() -> None:
    cfg = build(OperatorConfig, resolved(lease_duration=30.0, verify_now_burst=3, region="eu-west-1"))
    assert (cfg.lease.lease_duration_s, cfg.verify_now.burst, cfg.region) == (30.0, 3, "eu-west-1")


@pytest.mark.parametrize(
    ("declared", "given", "used"),
    [
        (settings.DEFAULT_INTERVAL, 0.0, 300.0),  # an interval of 0 is no interval
        (settings.RECORD_NAME, "", "bucketaccess-managed"),
        (settings.CACHE_TTL, 0.0, 0.0),  # 0 turns the cache off
        (settings.METRICS_PORT, 0, 0),
    ],
    ids=lambda v: v.flag if isinstance(v, Setting) else None,
)
def test_zero_stands_for_the_default_only_where_declared(
    declared: Setting[Any], given: Any, used: Any
) -> None:
    assert resolve(declared, given) == used


def test_the_run_flags_are_the_declared_ones_with_their_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    actions = {a.option_strings[0]: a for a in sub.choices["run"]._actions}
    for declared in SETTINGS:
        assert actions[declared.flag].dest == declared.dest
        assert actions[declared.flag].help == declared.help()
        assert f"[{declared.env}]" in declared.help()
