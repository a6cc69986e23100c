"""The published manifest schema, and judging a document against it.

Two validators share the one schema file. A compiled ``fastjsonschema`` function answers
"valid or not" quickly; only when it says no does ``jsonschema`` (imported then) walk the
document to report every problem at once. Its errors are turned into issues that point
at the offending node and say what was expected: for ``anyOf``/``oneOf`` the alternative
the value was evidently meant to be, for enums the closest choice, for type errors why
YAML 1.1 may have read the value that way; a key that belongs elsewhere (the schema's
``x-misplaced`` annotation, e.g. an estimator option under a sampler) says where.

The compiled validator's byte code is cached under the user's cache folder, keyed by the
schema's hash, so a process pays the compile cost once per schema version.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import marshal
import os
import re
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any, Protocol, cast

from qrun.manifest.jsonpath import child as child_path
from qrun.manifest.jsonpath import render as render_path
from qrun.manifest.source import explain_scalar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from jsonschema.exceptions import ValidationError

    from qrun.manifest.diagnostics import Issue
    from qrun.manifest.source import YamlSourceMap

__all__ = ["SCHEMA_ID", "schema", "schema_text", "validate"]

SCHEMA_ID = "https://qrun.dev/schema/manifest/v1.json"

#: Keys that would hold credentials; a manifest must never carry them.
CREDENTIAL_KEYS = frozenset({"token", "apikey", "api_key", "password", "secret"})

#: Bumped when the cached validator module's layout changes.
_CACHE_FORMAT = 3

_TYPE_NAMES = {
    "number": "a number",
    "integer": "an integer",
    "string": "a string",
    "array": "a list",
    "object": "a mapping",
    "boolean": "a boolean",
    "null": "null",
}


@cache
def schema_text() -> str:
    """The schema file as shipped in the package."""
    return resources.files("qrun.spec").joinpath("manifest.schema.json").read_text("utf-8")


@cache
def schema() -> Mapping[str, Any]:
    """The schema as a mapping."""
    return cast("Mapping[str, Any]", json.loads(schema_text()))


class _Validate(Protocol):
    def __call__(self, data: object) -> object: ...


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qrun"


@cache
def _fast_validator() -> _Validate:
    """The compiled yes/no validator, from the cache if it is there.

    The cache holds the validator's byte code (``marshal``, keyed by the schema, the
    compiler's version and the interpreter), not only its source: compiling the source
    costs a few hundred milliseconds a process, and Python's own ``.pyc`` files are not
    written where ``PYTHONDONTWRITEBYTECODE`` is set, as it often is in CI.
    """
    import fastjsonschema

    text = schema_text()
    stamp = f"{_CACHE_FORMAT}\n{fastjsonschema.VERSION}\n{sys.implementation.cache_tag}\n{text}"
    key = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    cached = _cache_dir() / f"manifest_schema_{key}.marshal"
    code = _cached_code(cached)
    if code is None:
        # A fresh copy: the compiler rewrites the references of the mapping it is given,
        # and schema() is shared by everything that explains a failure.
        draft07 = json.loads(text)
        draft07["$schema"] = "http://json-schema.org/draft-07/schema#"  # same keywords
        # use_default=False: the schema's defaults document the service's behaviour; they
        # are never written into the manifest's values (options go to the client as written)
        source = fastjsonschema.compile_to_code(draft07, use_default=False)
        entry = re.search(r"^def (\w+)\(", source, re.MULTILINE)
        source += f"\n\nvalidate = {entry.group(1) if entry else 'validate'}\n"
        code = compile(source, f"<qrun manifest schema {key}>", "exec")
        with contextlib.suppress(OSError):  # no writable cache: compile again next time
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(marshal.dumps(code))
            partial.replace(cached)
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return cast("_Validate", namespace["validate"])


def _cached_code(path: Path) -> CodeType | None:
    """The byte code cached at ``path``; None when absent or unreadable."""
    try:
        code = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def is_valid(data: object) -> bool:
    """Whether ``data`` satisfies the schema (the fast path; no details)."""
    import fastjsonschema

    try:
        _fast_validator()(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def validate(data: object, source: YamlSourceMap) -> list[Issue]:
    """Every schema problem in ``data``, each at its node; empty if ``data`` is valid."""
    if is_valid(data):
        return []
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    issues: list[Issue] = []
    for error in validator.iter_errors(data):
        issues.extend(_Translator(source).issues(error))
    return issues


# ----------------------------------------------------------------- error translation


def describe(value: object) -> str:
    """A value as a message names it: ``boolean false``, ``string 'x'``, ``a list``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _one_of(words: Sequence[str], conjunction: str = "or") -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _resolve(subschema: object) -> Mapping[str, Any]:
    """Follow local ``$ref`` pointers (``#/$defs/name``) to the schema they name."""
    current: Any = subschema
    while isinstance(current, dict) and "$ref" in current:
        node: Any = schema()
        for part in current["$ref"].lstrip("#/").split("/"):
            node = node[part]
        current = node
    return cast("Mapping[str, Any]", current if isinstance(current, dict) else {})


def _types_of(subschema: object) -> list[str]:
    resolved = _resolve(subschema)
    if "type" in resolved:
        kind = resolved["type"]
        return [kind] if isinstance(kind, str) else list(kind)
    for keyword in ("anyOf", "oneOf"):
        if keyword in resolved:
            return [t for alternative in resolved[keyword] for t in _types_of(alternative)]
    return []


def _alternative_groups(error: ValidationError) -> dict[int, list[ValidationError]]:
    groups: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0]
        if isinstance(index, int):
            groups.setdefault(index, []).append(sub)
    return groups


def _mismatched(errors: Iterable[ValidationError]) -> bool:
    """Whether an alternative failed on the value's kind itself (so it was not meant)."""
    for sub in errors:
        if sub.relative_path:
            continue
        if sub.validator in ("type", "const"):
            return True
        if sub.validator in ("anyOf", "oneOf"):
            groups = _alternative_groups(sub)
            if groups and all(_mismatched(group) for group in groups.values()):
                return True
    return False


class _Translator:
    """Turns one ``jsonschema`` error into issues a person can act on."""

    def __init__(self, source: YamlSourceMap) -> None:
        self.source = source

    def issues(self, error: ValidationError) -> Iterator[Issue]:
        path = render_path(error.absolute_path)
        handler = getattr(self, f"_on_{error.validator}", None)
        if "propertyNames" in error.relative_schema_path:
            yield from self._on_property_name(error, path)
        elif handler is not None:
            yield from cast("Callable[[ValidationError, str], Iterator[Issue]]", handler)(
                error, path
            )
        else:
            yield self.at(path, self._custom(error) or error.message, error.instance)

    def at(self, path: str, message: str, instance: object = None) -> Issue:
        """An issue at ``path``; a surprising YAML 1.1 scalar gets its explanation."""
        if not isinstance(instance, (dict, list)):
            why = explain_scalar(self.source.node(path))
            if why:
                message = f"{message}: {why}"
        return self.source.issue(path, message)

    @staticmethod
    def _custom(error: ValidationError) -> str | None:
        message = error.schema.get("errorMessage") if isinstance(error.schema, dict) else None
        return message if isinstance(message, str) else None

    def _on_type(self, error: ValidationError, path: str) -> Iterator[Issue]:
        kinds = error.validator_value
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        expected = self._custom(error) or f"expected {_one_of([_TYPE_NAMES[k] for k in kinds])}"
        yield self.at(path, f"{expected}, got {describe(error.instance)}", error.instance)

    def _on_enum(self, error: ValidationError, path: str) -> Iterator[Issue]:
        choices = [str(choice) for choice in error.validator_value]
        if isinstance(error.instance, str):
            message = f"{error.instance!r} is not one of {', '.join(choices)}"
            folded = {choice.lower(): choice for choice in choices}
            close = [folded[error.instance.lower()]] if error.instance.lower() in folded else []
            close = close or difflib.get_close_matches(error.instance, choices, n=1, cutoff=0.6)
            if close:
                message += f"; did you mean {close[0]!r}?"
        else:
            message = f"expected one of {', '.join(choices)}, got {describe(error.instance)}"
        yield self.at(path, message, error.instance)

    def _on_const(self, error: ValidationError, path: str) -> Iterator[Issue]:
        expected = self._custom(error) or f"expected {error.validator_value!r}"
        yield self.at(path, f"{expected}, got {describe(error.instance)}", error.instance)

    def _on_pattern(self, error: ValidationError, path: str) -> Iterator[Issue]:
        expected = self._custom(error) or f"expected text matching {error.validator_value}"
        yield self.at(path, f"{expected}, got {describe(error.instance)}", error.instance)

    def _on_property_name(self, error: ValidationError, path: str) -> Iterator[Issue]:
        key = str(error.instance)
        if error.validator == "maxLength":
            expected = f"expected at most {error.validator_value} characters, got {len(key):,}"
            shown = key[:37] + "..."
        else:
            expected = self._custom(error) or error.message
            shown = key
        yield self.source.key_issue(child_path(path, key), f"key {shown!r}: {expected}")

    def _on_required(self, error: ValidationError, path: str) -> Iterator[Issue]:
        custom = self._custom(error)
        instance = error.instance if isinstance(error.instance, dict) else {}
        for key in error.validator_value:
            if key not in instance:
                yield self.source.issue(path, custom or f"missing required key {key!r}")

    def _on_additionalProperties(self, error: ValidationError, path: str) -> Iterator[Issue]:
        known = list(error.schema.get("properties", {}))
        misplaced = error.schema.get("x-misplaced", {})
        instance = error.instance if isinstance(error.instance, dict) else {}
        for key in instance:
            if key in known:
                continue
            if key in misplaced:
                message = f"unknown key {key!r}: {misplaced[key]}"
            elif path == "$.service" and key.lower() in CREDENTIAL_KEYS:
                message = (
                    f"never put credentials in a manifest: remove {key!r}; qrun uses your "
                    "saved account (QiskitRuntimeService.save_account) or the "
                    "QISKIT_IBM_TOKEN environment variable"
                )
            else:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                message = f"unknown key {key!r}" + (
                    f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
                )
            yield self.source.key_issue(child_path(path, key), message)

    def _on_minimum(self, error: ValidationError, path: str) -> Iterator[Issue]:
        yield self._bound(error, path, "≥")

    def _on_maximum(self, error: ValidationError, path: str) -> Iterator[Issue]:
        yield self._bound(error, path, "≤")

    def _on_exclusiveMinimum(self, error: ValidationError, path: str) -> Iterator[Issue]:
        yield self._bound(error, path, ">")

    def _bound(self, error: ValidationError, path: str, relation: str) -> Issue:
        kind = "an integer" if _resolve(error.schema).get("type") == "integer" else "a number"
        return self.at(
            path,
            f"expected {kind} {relation} {error.validator_value}, got {error.instance}",
            error.instance,
        )

    def _on_maxLength(self, error: ValidationError, path: str) -> Iterator[Issue]:
        length = len(error.instance) if isinstance(error.instance, str) else 0
        yield self.source.issue(
            path, f"expected at most {error.validator_value} characters, got {length:,}"
        )

    def _on_minItems(self, error: ValidationError, path: str) -> Iterator[Issue]:
        count = error.validator_value
        yield self.source.issue(
            path,
            f"expected at least {count} item{'s' if count != 1 else ''}, got {len(error.instance)}",
        )

    def _on_maxItems(self, error: ValidationError, path: str) -> Iterator[Issue]:
        count = error.validator_value
        yield self.source.issue(
            path,
            f"expected at most {count} item{'s' if count != 1 else ''}, got {len(error.instance)}",
        )

    def _on_minProperties(self, error: ValidationError, path: str) -> Iterator[Issue]:
        yield self.source.issue(path, "expected at least one entry, got an empty mapping")

    def _on_anyOf(self, error: ValidationError, path: str) -> Iterator[Issue]:
        yield from self._alternatives(error, path)

    def _on_oneOf(self, error: ValidationError, path: str) -> Iterator[Issue]:
        yield from self._alternatives(error, path)

    def _alternatives(self, error: ValidationError, path: str) -> Iterator[Issue]:
        alternatives = [_resolve(alternative) for alternative in error.validator_value]
        if all(set(alternative) == {"required"} for alternative in alternatives):
            keys = [key for alternative in alternatives for key in alternative["required"]]
            instance = error.instance if isinstance(error.instance, dict) else {}
            present = [key for key in keys if key in instance]
            wanted = _one_of([f"'{key}'" for key in keys])
            if present:
                found = _one_of([f"'{key}'" for key in present], "and")
                yield self.source.issue(path, f"give only one of {wanted}, not {found}")
            else:
                yield self.source.issue(path, f"missing one of the keys {wanted}")
            return
        groups = _alternative_groups(error)
        if len(groups) < len(alternatives):
            yield self.source.issue(path, "the value fits more than one form; make it unambiguous")
            return
        meant = [index for index, group in sorted(groups.items()) if not _mismatched(group)]
        if not meant:
            kinds: list[str] = []
            for alternative in alternatives:
                for kind in _types_of(alternative):
                    if _TYPE_NAMES[kind] not in kinds:
                        kinds.append(_TYPE_NAMES[kind])
            message = f"expected {_one_of(kinds)}, got {describe(error.instance)}"
            yield self.at(path, message, error.instance)
            return
        best = min(meant, key=lambda index: len(groups[index]))
        for sub in groups[best]:
            yield from self.issues(sub)
