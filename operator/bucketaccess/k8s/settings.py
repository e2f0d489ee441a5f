"""The settings of ``bucketaccess run``, each declared once, in :data:`SETTINGS`.

A :class:`Setting` is a flag, its environment variable (``BUCKETACCESS_`` and the flag's name:
``--cache-ttl`` is ``BUCKETACCESS_CACHE_TTL``), how its text is parsed, its default as a user
writes it, and its help. Everything else derives from the table, as Kopf keeps one default per
settings field:

- the defaults of :class:`~.config.OperatorConfig`, :class:`~.leader.LeaseTimings` and
  :class:`~.verify_now.VerifyNowLimits`: each field is :func:`configured` from its setting, and
  :func:`build` fills a config from the resolved values;
- the command line of ``bucketaccess run`` and its ``--help`` (:mod:`bucketaccess.cli.run`);
- the docs test, which checks docs/operations.md's flags table against this table both ways.

Pure: no Kubernetes client, so the command line is built without loading one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, cast

from ..durations import parse_duration
from ..grants.shard import DEFAULT_RECORD_NAME

ENV_PREFIX = "BUCKETACCESS_"
T = TypeVar("T")
D = TypeVar("D")
_FROM = "bucketaccess.setting"  # the metadata key of a config field filled from a setting


# ----------------------------------------------------------------------------- parsers
# Each raises ValueError with a message that names the text; the caller names the setting.


def verbatim(value: str) -> str:
    """A setting taken as it is written (a name, an ARN, a region)."""
    return value


def duration(text: str) -> float:
    return parse_duration(text)


def port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(f"{text!r} is not a port number (0-65535)")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"{text!r} is not a positive number")
    return value


def positive_number(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError(f"{text!r} is not a positive number")
    return value


def issuer_url(text: str) -> str:
    if not text.startswith("https://") or len(text) <= len("https://"):
        raise ValueError(f"{text!r} is not an https:// OIDC issuer URL")
    return text


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(f"{text!r} is not true or false")


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of a closed set of words (argparse lists them as the flag's choices)."""

    allowed: tuple[str, ...]

    def __call__(self, text: str) -> str:
        if text not in self.allowed:
            raise ValueError(f"{text!r} is not one of {', '.join(self.allowed)}")
        return text


def choice(*allowed: str) -> Choice:
    return Choice(allowed)


# ----------------------------------------------------------------------------- the declaration


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class Setting(Generic[T]):
    flag: str  # "--cache-ttl"; the environment variable and the argparse dest derive from it
    parse: Callable[[str], T]  # the flag's and the variable's text, as the program uses it
    about: str  # the help, without the variable and the default (they are added)
    default: str | None = None  # as a user writes it; None: unset
    unset: str = ""  # what unset means, in words, for the help (when there is no default)
    # a value that parses to 0 or "" stands for the default (an interval of 0 is no interval)
    empty_is_default: bool = False
    switch: bool = False  # the flag alone means true

    @property
    def name(self) -> str:
        """``CACHE_TTL``: the variable without its prefix."""
        return self.flag.removeprefix("--").upper().replace("-", "_")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def value(self) -> T | None:
        """The default, parsed."""
        return self.parse(self.default) if self.default is not None else None

    def help(self, about: str | None = None) -> str:
        """The help text: what it does, the variable in brackets, the default."""
        text = f"{self.about if about is None else about} [{self.env}]"
        if self.default is not None:
            return f"{text} (default {self.default})"
        return f"{text} (default: {self.unset})" if self.unset else text

    def given(self, value: T | None) -> T | None:
        """A resolved value as the program uses it."""
        return self.value if self.empty_is_default and not value else value


def configured(setting: Setting[T]) -> T:
    """A config field whose default is the setting's (which must have one); :func:`build` fills it."""
    if setting.default is None:
        raise ValueError(f"{setting.flag} has no default: declare its field with optional()")
    return cast(T, dataclasses.field(default=setting.value, metadata={_FROM: setting}))


def optional(setting: Setting[T]) -> T | None:
    """A config field that is None unless the setting is given; :func:`build` fills it."""
    return dataclasses.field(default=setting.value, metadata={_FROM: setting})


def build(cls: type[D], values: Mapping[Setting[Any], Any], **given: Any) -> D:
    """A config of type ``cls`` from resolved setting values: each field declared with
    :func:`configured` or :func:`optional` takes its setting's value, a nested config (a field
    whose default factory is a dataclass) is built the same way, and ``given`` fills the rest."""
    kwargs = dict(given)
    for f in dataclasses.fields(cast(Any, cls)):
        setting = f.metadata.get(_FROM)
        if setting is not None:
            kwargs[f.name] = values[setting]
        elif isinstance(f.default_factory, type) and dataclasses.is_dataclass(f.default_factory):
            kwargs[f.name] = build(f.default_factory, values)
    return cls(**kwargs)


def fields_of(cls: type[Any]) -> list[Setting[Any]]:
    """The settings that fill ``cls`` and the configs nested in it."""
    out: list[Setting[Any]] = []
    for f in dataclasses.fields(cls):
        if _FROM in f.metadata:
            out.append(f.metadata[_FROM])
        elif isinstance(f.default_factory, type) and dataclasses.is_dataclass(f.default_factory):
            out += fields_of(f.default_factory)
    return out


# ----------------------------------------------------------------------------- the table
# In the order of `bucketaccess run --help` and of the flags table in docs/operations.md.

HEALTH_PORT = Setting(
    flag="--health-port",
    parse=port,
    default="8080",
    about="port of the /healthz liveness endpoint, 0 turns it off",
)
DEFAULT_INTERVAL = Setting(
    flag="--default-interval",
    parse=duration,
    default="5m",
    empty_is_default=True,
    about="verifyInterval of objects that set none",
)
CACHE_TTL = Setting(
    flag="--cache-ttl",
    parse=duration,
    default="20s",
    about="how old a shared AWS read may be for a pass caused by a change (periodic passes accept their "
    "verifyInterval); 0 turns the cache off",
)
REGION = Setting(
    flag="--region", parse=verbatim, unset="the SDK's, e.g. AWS_REGION", about="AWS region of the clients"
)
ORG_READER_ROLE_ARN = Setting(
    flag="--org-reader-role-arn",
    parse=verbatim,
    about="role in the management account to assume for reading SCPs and RCPs",
)
ACCOUNT_READER_ROLE_NAME = Setting(
    flag="--account-reader-role-name",
    parse=verbatim,
    about="role name the operator assumes in another account to read a cross-account workload role",
)
WORKERS = Setting(
    flag="--workers", parse=positive_int, default="16", about="threads that run verification passes"
)
METRICS_PORT = Setting(
    flag="--metrics-port",
    parse=port,
    default="0",
    about="port of the Prometheus /metrics endpoint, 0 turns it off",
)
STATE_NAMESPACE = Setting(
    flag="--state-namespace",
    parse=verbatim,
    default="bucketaccess-system",
    empty_is_default=True,
    about="namespace of the ConfigMap that records which buckets and keys the operator manages",
)
RECORD_NAME = Setting(
    flag="--record-name",
    parse=verbatim,
    default=DEFAULT_RECORD_NAME,  # the one shard whose managed names carry no tag
    empty_is_default=True,
    about="name of that ConfigMap; give each shard its own",
)
CLUSTER_NAME = Setting(
    flag="--cluster-name",
    parse=verbatim,
    about="the EKS cluster the operator runs in: a ServiceAccount without the IRSA annotation is looked up "
    "among its Pod Identity associations, and IRSA's OIDC issuer is read from it",
)
OIDC_ISSUER = Setting(
    flag="--oidc-issuer",
    parse=issuer_url,
    about="the cluster's OIDC issuer URL for IRSA trust checks, instead of reading it from --cluster-name",
)
LEADER_ELECT = Setting(
    flag="--leader-elect",
    parse=boolean,
    default="false",
    switch=True,
    about="run as one of several replicas (deploy/ turns it on): only the holder of a Lease "
    "(in --state-namespace) verifies and writes",
)
LEASE_NAME = Setting(
    flag="--lease-name",
    parse=verbatim,
    unset="--record-name",
    about="name of that Lease; give each shard its own",
)
LEASE_DURATION = Setting(
    flag="--lease-duration",
    parse=duration,
    default="15s",
    empty_is_default=True,
    about="how long a standby waits, from the last renew it saw, before taking the lease over",
)
RENEW_DEADLINE = Setting(
    flag="--renew-deadline",
    parse=duration,
    default="10s",
    empty_is_default=True,
    about="how long after its last renew the holder stops writing unless it renewed again; shorter "
    "than --lease-duration",
)
RETRY_PERIOD = Setting(
    flag="--retry-period",
    parse=duration,
    default="2s",
    empty_is_default=True,
    about="how often the holder renews and a standby tries",
)
VERIFY_NOW_WINDOW = Setting(
    flag="--verify-now-window",
    parse=duration,
    default="5s",
    about="at most one fresh pass per object per window for the s3access.dev/verify annotation; requests "
    "within it are folded into one pass at its end",
)
VERIFY_NOW_RATE = Setting(
    flag="--verify-now-rate",
    parse=positive_number,
    default="1",
    about="fresh passes per second each namespace earns for s3access.dev/verify; beyond them passes wait "
    "for their turn",
)
VERIFY_NOW_BURST = Setting(
    flag="--verify-now-burst",
    parse=positive_int,
    default="10",
    about="fresh passes a namespace may start at once for s3access.dev/verify",
)
EVENT_QUEUE_URL = Setting(
    flag="--event-queue-url",
    parse=verbatim,
    unset="none: verify on the interval only",
    about="SQS queue of AWS change events (deploy/aws/change-events.yaml): the Lease holder long-polls it "
    "and verifies the objects a change affects at once",
)
LOG_FORMAT = Setting(
    flag="--log-format",
    parse=choice("plain", "json"),
    default="plain",
    about="plain text or one JSON object per line",
)
LOG_LEVEL = Setting(
    flag="--log-level",
    parse=choice("debug", "info", "warning", "error"),
    default="info",
    about="how much to log",
)

SETTINGS: tuple[Setting[Any], ...] = (
    HEALTH_PORT,
    DEFAULT_INTERVAL,
    CACHE_TTL,
    REGION,
    ORG_READER_ROLE_ARN,
    ACCOUNT_READER_ROLE_NAME,
    WORKERS,
    METRICS_PORT,
    STATE_NAMESPACE,
    RECORD_NAME,
    CLUSTER_NAME,
    OIDC_ISSUER,
    LEADER_ELECT,
    LEASE_NAME,
    LEASE_DURATION,
    RENEW_DEADLINE,
    RETRY_PERIOD,
    VERIFY_NOW_WINDOW,
    VERIFY_NOW_RATE,
    VERIFY_NOW_BURST,
    EVENT_QUEUE_URL,
    LOG_FORMAT,
    LOG_LEVEL,
)
# the run command's own (the process around the operator), not part of OperatorConfig
PROCESS_SETTINGS = (HEALTH_PORT, LOG_FORMAT, LOG_LEVEL)
