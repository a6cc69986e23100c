"""What a ``qrun serve`` process offers: instances, the API keys that reach them, backends.

The configuration is a YAML file::

    instances:
      premium:                       # a name used only inside this file
        crn: "crn:v1:bluemix:public:quantum-computing:us-east:a/local:premium::"
        plan: premium                # open | pay-as-you-go | flex | premium | dedicated
        interactive_ttl: 60          # seconds (or "1m")
        max_ttl: 8h
        usage_limit: 10m             # quantum seconds the instance may use (default: none)
    api_keys:
      my-local-key: [premium]        # an API key -> the instances it may use
    backends: [aer, fake_manila]
    max_body_bytes: 16777216
    token_ttl: 1h
    admin_key: choose-a-secret       # the admin API's key (only with --virtual-clock)
    faults:                          # off unless listed (see qrun.serve.faults)
      - {kind: http_error, status: 503, retry_after: 1, count: 2, path: /api/v1/jobs}
    timing:                          # on the real clock only; off unless given
      queue_latency: 2s              # a started job shows as queued this long
      min_duration: 5s               # then runs at least this long
    workers: 4                       # backends computing at once (default: one per backend)
    compute: processes               # local | processes (default) | ray | ray=ADDRESS

Every key is optional; :data:`DEFAULT_CONFIG` fills what is missing. The default is meant
for a single user on the loopback interface: one premium instance, one Open Plan instance,
one premium instance whose interactive TTL is 2 minutes (so a user, or the conformance
suite, can see an instance-specific TTL applied), and one API key (``qrun-local``) that
reaches all three. That key guards nothing but a simulator on
127.0.0.1; a configuration for anything wider should set its own keys.
"""

from __future__ import annotations

from collections.abc import Mapping  # noqa: TC003 - a dataclass field type
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast, get_args

import yaml

from qrun.client import DEFAULT_API_KEY, DEFAULT_INSTANCE, DEFAULT_OPEN_INSTANCE
from qrun.compute.choice import Compute, parse_compute
from qrun.engine.instance import PricingPlan
from qrun.errors import QrunError
from qrun.manifest.duration import DurationError, parse_duration
from qrun.serve.faults import Fault, FaultError, parse_fault
from qrun.serve.timing import RealTiming

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CONFIG",
    "DEFAULT_PATIENT_INSTANCE",
    "ConfigError",
    "InstanceConfig",
    "ServeConfig",
    "load_config",
    "parse_config",
]


class ConfigError(QrunError):
    """The ``qrun serve`` configuration file is unreadable or wrong."""


@dataclass(frozen=True)
class InstanceConfig:
    """One instance (CRN): its plan and session limits."""

    name: str
    crn: str
    plan: PricingPlan = "premium"
    interactive_ttl: float = 60.0
    max_ttl: float = 8 * 3600.0
    #: Quantum seconds the instance may consume; None: no limit.
    usage_limit: float | None = None

    @property
    def allows_sessions(self) -> bool:
        """Open Plan instances run jobs and batches but no dedicated sessions."""
        return self.plan != "open"


@dataclass(frozen=True)
class ServeConfig:
    """The whole service configuration, validated."""

    instances: tuple[InstanceConfig, ...]
    api_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    backends: tuple[str, ...] = ("aer", "fake_manila")
    max_body_bytes: int = 16 * 1024 * 1024
    token_ttl: float = 3600.0
    #: Seconds an idle client connection is kept open (uvicorn's keep-alive timeout).
    keep_alive: float = 5.0
    #: Key of the admin API (virtual clock only); None: one is drawn at start-up.
    admin_key: str | None = None
    #: Faults injected from start-up (none by default).
    faults: tuple[Fault, ...] = ()
    #: Realistic timing on the real clock (off by default).
    timing: RealTiming = field(default_factory=RealTiming)
    #: Worker processes computing jobs (each backend still runs one job at a time);
    #: None: one per backend.
    workers: int | None = None
    #: Where jobs compute: threads, worker processes (the default) or Ray tasks.
    compute: Compute = field(default_factory=lambda: Compute("processes"))

    def instance(self, crn: str) -> InstanceConfig | None:
        """The instance with this CRN, if configured."""
        return next((item for item in self.instances if item.crn == crn), None)

    def instances_of(self, api_key: str) -> tuple[InstanceConfig, ...] | None:
        """The instances an API key reaches; ``None`` if the key is unknown."""
        names = self.api_keys.get(api_key)
        if names is None:
            return None
        return tuple(item for item in self.instances if item.name in names)


#: The default configuration's instance with a 2-minute interactive TTL.
DEFAULT_PATIENT_INSTANCE = DEFAULT_INSTANCE.removesuffix("premium::") + "patient::"

DEFAULT_CONFIG = ServeConfig(
    instances=(
        InstanceConfig("premium", DEFAULT_INSTANCE, "premium"),
        InstanceConfig("open", DEFAULT_OPEN_INSTANCE, "open"),
        InstanceConfig("patient", DEFAULT_PATIENT_INSTANCE, "premium", interactive_ttl=120.0),
    ),
    api_keys={DEFAULT_API_KEY: ("premium", "open", "patient")},
)


def load_config(path: Path | None) -> ServeConfig:
    """Read a configuration file; ``None`` gives :data:`DEFAULT_CONFIG`."""
    if path is None:
        return DEFAULT_CONFIG
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    return parse_config(document, source=str(path))


def parse_config(document: object, *, source: str = "<config>") -> ServeConfig:
    """Validate a parsed YAML document; every problem names its key."""
    if document is None:
        return DEFAULT_CONFIG
    root = _mapping(document, source, "$")
    unknown = set(root) - {
        "instances",
        "api_keys",
        "backends",
        "max_body_bytes",
        "token_ttl",
        "keep_alive",
        "admin_key",
        "faults",
        "timing",
        "workers",
        "compute",
    }
    if unknown:
        raise ConfigError(f"{source}: $: unknown keys {sorted(unknown)}")
    instances = (
        tuple(
            _instance(name, spec, source)
            for name, spec in _mapping(root["instances"], source, "$.instances").items()
        )
        if "instances" in root
        else DEFAULT_CONFIG.instances
    )
    if not instances:
        raise ConfigError(f"{source}: $.instances: at least one instance is needed")
    names = {item.name for item in instances}
    api_keys = (
        {
            str(key): _names(value, names, source, f"$.api_keys.{key}")
            for key, value in _mapping(root["api_keys"], source, "$.api_keys").items()
        }
        if "api_keys" in root
        else {DEFAULT_API_KEY: tuple(sorted(names))}
    )
    backends = root.get("backends", list(DEFAULT_CONFIG.backends))
    if not isinstance(backends, list) or not all(
        isinstance(name, str) and name for name in backends
    ):
        raise ConfigError(f"{source}: $.backends: expected a list of backend names")
    max_body = root.get("max_body_bytes", DEFAULT_CONFIG.max_body_bytes)
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
        raise ConfigError(f"{source}: $.max_body_bytes: expected a positive integer")
    admin_key = root.get("admin_key")
    if admin_key is not None and (not isinstance(admin_key, str) or len(admin_key) < 8):
        raise ConfigError(f"{source}: $.admin_key: expected a string of at least 8 characters")
    faults = root.get("faults", [])
    if not isinstance(faults, list):
        raise ConfigError(f"{source}: $.faults: expected a list of faults")
    parsed: list[Fault] = []
    for index, item in enumerate(faults):
        try:
            parsed.append(parse_fault(item))
        except FaultError as error:
            raise ConfigError(f"{source}: $.faults[{index}]: {error}") from None
    timing = _mapping(root.get("timing", {}), source, "$.timing")
    unknown_timing = set(timing) - {"queue_latency", "min_duration"}
    if unknown_timing:
        raise ConfigError(f"{source}: $.timing: unknown keys {sorted(unknown_timing)}")
    workers = root.get("workers")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or not 0 < workers <= 64
    ):
        raise ConfigError(f"{source}: $.workers: expected a whole number from 1 to 64")
    compute = root.get("compute", "processes")
    try:
        chosen = parse_compute(compute) if isinstance(compute, str) else None
    except ValueError as error:
        raise ConfigError(f"{source}: $.compute: {error}") from None
    if chosen is None:
        raise ConfigError(f"{source}: $.compute: expected local, processes, ray or ray=ADDRESS")
    return ServeConfig(
        compute=chosen,
        faults=tuple(parsed),
        timing=RealTiming(
            *(
                _seconds(timing[key], source, f"$.timing.{key}") if key in timing else 0.0
                for key in ("queue_latency", "min_duration")
            )
        ),
        workers=workers,
        instances=instances,
        api_keys=api_keys,
        backends=tuple(backends),
        max_body_bytes=max_body,
        token_ttl=_seconds(root.get("token_ttl", DEFAULT_CONFIG.token_ttl), source, "$.token_ttl"),
        keep_alive=_seconds(
            root.get("keep_alive", DEFAULT_CONFIG.keep_alive), source, "$.keep_alive"
        ),
        admin_key=admin_key,
    )


def _mapping(value: object, source: str, path: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {path}: expected a mapping")
    return {str(key): item for key, item in value.items()}


def _seconds(value: object, source: str, path: str) -> float:
    if not isinstance(value, (int, float, str)):
        raise ConfigError(f"{source}: {path}: expected seconds or a duration such as '8h'")
    try:
        return parse_duration(value)
    except DurationError as error:
        raise ConfigError(f"{source}: {path}: {error}") from error


def _instance(name: str, spec: object, source: str) -> InstanceConfig:
    path = f"$.instances.{name}"
    fields = _mapping(spec, source, path)
    unknown = set(fields) - {"crn", "plan", "interactive_ttl", "max_ttl", "usage_limit"}
    if unknown:
        raise ConfigError(f"{source}: {path}: unknown keys {sorted(unknown)}")
    crn = fields.get("crn")
    if not isinstance(crn, str) or not crn.startswith("crn:"):
        raise ConfigError(f"{source}: {path}.crn: expected a CRN string ('crn:v1:…')")
    plan = fields.get("plan", "premium")
    if plan not in get_args(PricingPlan):
        raise ConfigError(f"{source}: {path}.plan: expected one of {list(get_args(PricingPlan))}")
    return InstanceConfig(
        name=name,
        crn=crn,
        plan=cast("PricingPlan", plan),
        interactive_ttl=_seconds(
            fields.get("interactive_ttl", 60), source, f"{path}.interactive_ttl"
        ),
        max_ttl=_seconds(fields.get("max_ttl", 8 * 3600), source, f"{path}.max_ttl"),
        usage_limit=None
        if fields.get("usage_limit") is None
        else _seconds(fields["usage_limit"], source, f"{path}.usage_limit"),
    )


def _names(value: object, known: set[str], source: str, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ConfigError(f"{source}: {path}: expected a list of instance names")
    missing = [name for name in value if name not in known]
    if missing:
        raise ConfigError(f"{source}: {path}: unknown instances {missing}")
    return tuple(value)
