"""The published schema: a valid 2020-12 schema, documented, and read alike by both validators."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import fastjsonschema
import jsonschema
import pytest

from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.schema import SCHEMA_ID, is_valid, schema, schema_text
from qrun.manifest.source import load_document

EXAMPLES = Path(str(resources.files("qrun.spec") / "examples"))


def _loadable() -> list[Path]:
    """Examples the loader turns into values (some invalid ones are refused as a whole)."""
    paths = sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "invalid").glob("*.yaml"))
    found = []
    for path in paths:
        try:
            load_document(path)
        except ManifestError:
            continue
        found.append(path)
    return found


def _properties(node: object, where: str = "$") -> list[tuple[str, dict[str, object]]]:
    found = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            found.append((f"{where}.{name}", sub))
        for key, sub in node.items():
            found.extend(_properties(sub, f"{where}/{key}"))
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            found.extend(_properties(sub, f"{where}[{index}]"))
    return found


class TestSchemaFile:
    """If the schema is published, it is well-formed and self-describing."""

    def test_is_valid_against_the_2020_12_metaschema(self) -> None:
        jsonschema.Draft202012Validator.check_schema(dict(schema()))

    def test_is_versioned(self) -> None:
        assert schema()["$id"] == SCHEMA_ID
        assert schema()["properties"]["qrun"]["const"] == 1
        assert "qrun" in schema()["required"]

    def test_ships_in_the_package(self) -> None:
        text = (resources.files("qrun.spec") / "manifest.schema.json").read_text("utf-8")
        assert json.loads(text)["$id"] == SCHEMA_ID

    @pytest.mark.parametrize(
        ("where", "prop"), [pytest.param(w, p, id=w) for w, p in _properties(dict(schema()))]
    )
    def test_every_property_is_documented(self, where: str, prop: dict[str, object]) -> None:
        target = prop
        if "$ref" in prop and "title" not in prop:
            ref = str(prop["$ref"]).removeprefix("#/$defs/")
            target = schema()["$defs"][ref]
        assert {"title", "description"} <= set(target), where
        is_container = target.get("type") in ("object", "array") or "$ref" in target
        assert "examples" in target or is_container, where


class TestValidatorsAgree:
    """If a document is judged, the fast validator and jsonschema give the same verdict."""

    @pytest.mark.parametrize("path", _loadable(), ids=lambda p: p.name)
    def test_same_verdict_on_examples(self, path: Path) -> None:
        data = load_document(path).data
        slow = jsonschema.Draft202012Validator(dict(schema())).is_valid(data)
        assert is_valid(data) == slow

    def test_compiling_afresh_leaves_the_schema_as_published(self, tmp_path: Path) -> None:
        """On a machine with no compiled validator yet, compiling it does not rewrite the
        schema that explanations and tools read."""
        script = (
            "from qrun.manifest.schema import is_valid, schema\n"
            "is_valid({'qrun': 1})\n"
            "print(schema()['properties']['metadata']['$ref'])\n"
        )
        environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-c", script],
            check=False,
            capture_output=True,
            text=True,
            env=environment,
        )
        assert done.stdout == "#/$defs/metadata\n", done.stderr

    def test_compiled_validator_rejects_what_the_schema_rejects(self) -> None:
        draft07 = dict(
            json.loads(schema_text()), **{"$schema": "http://json-schema.org/draft-07/schema#"}
        )
        fresh = fastjsonschema.compile(draft07)
        with pytest.raises(fastjsonschema.JsonSchemaException):
            fresh({"qrun": 1, "backend": {"name": "nope"}})
        assert not is_valid({"qrun": 1, "backend": {"name": "nope"}})
