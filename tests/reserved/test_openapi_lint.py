"""The generated OpenAPI documents pass real linters: Redocly CLI and Spectral (both pinned in
tools/openapi-lint, set up by `./tasks test`) report no error on the example API with each
declared security, nor on a set with many templates that overlap up to parameter names."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from grpc_transcoder import settings
from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading import sources as descriptor_source
from grpc_transcoder.loading.registry import HttpRule
from grpc_transcoder.reserved.openapi import document as openapi
from grpc_transcoder.routing.table import compile_rule, routes_for
from grpc_transcoder.settings import OpenApiSecurity
from tests.conftest import LIBRARY_SET, ROOT

LINTERS = ROOT / "tools" / "openapi-lint"
REDOCLY = LINTERS / "node_modules" / ".bin" / "redocly"
SPECTRAL = LINTERS / "node_modules" / ".bin" / "spectral"
# Spectral's own OpenAPI rules (`spectral:oas`), nothing added.
SPECTRAL_RULESET = 'extends: ["spectral:oas"]\n'


def lint(document: dict[str, Any], directory: Path) -> list[dict[str, Any]]:
    """Redocly's problems of `document` (its recommended rules)."""
    if not REDOCLY.exists():
        pytest.fail("the OpenAPI linter is missing: run ./tasks test (it sets it up)")
    path = directory / "openapi.json"
    path.write_text(json.dumps(document))
    done = subprocess.run(
        [str(REDOCLY), "lint", str(path), "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    problems: list[dict[str, Any]] = json.loads(done.stdout)["problems"]
    return problems


def spectral_errors(document: dict[str, Any], directory: Path) -> list[str]:
    """Spectral's errors on `document` (severity 0 under the `spectral:oas` rules)."""
    if not SPECTRAL.exists():
        pytest.fail("Spectral is missing: run ./tasks test (it sets it up)")
    path = directory / "openapi-spectral.json"
    path.write_text(json.dumps(document))
    ruleset = directory / ".spectral.yaml"
    ruleset.write_text(SPECTRAL_RULESET)
    done = subprocess.run(
        [str(SPECTRAL), "lint", str(path), "--ruleset", str(ruleset), "--format", "json", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return [
        f"{p['code']}: {p['message']} at {'/'.join(map(str, p['path']))}"
        for p in found
        if p["severity"] == 0
    ]


def errors(problems: list[dict[str, Any]]) -> list[str]:
    return [
        f"{p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}"
        for p in problems
        if p["severity"] == "error"
    ]


@pytest.mark.parametrize("security", list(OpenApiSecurity), ids=lambda s: s.value)
def test_the_example_document_has_no_lint_errors(security: OpenApiSecurity, tmp_path: Path) -> None:
    registry = descriptors.build(descriptor_source.read_all([str(LIBRARY_SET)]))
    options = openapi.options_for(settings.load({}, openapi_security=security))
    document = openapi.document(routes_for(registry)[0], options=options)
    assert errors(lint(document, tmp_path)) == []
    assert spectral_errors(document, tmp_path) == []
    if security is OpenApiSecurity.NONE:
        assert document["security"] == []
    else:
        assert document["security"] == [{"gateway": []}]
        assert "gateway" in document["components"]["securitySchemes"]


def test_overlapping_templates_lint_clean(tmp_path: Path) -> None:
    registry = descriptors.build(descriptor_source.read_all([str(LIBRARY_SET)]))
    method = registry.methods["/library.v1.LibraryService/GetBook"]
    templates = (
        "/v1/{name}",
        "/v1/{name=shelves/*}",
        "/v1/{name=shelves/*/books/*}",
        "/v1/shelves/{name}",
        "/v1/{name=shelves/*}/books/x",
        "/v1/{name=authors/*}",
        "/v1/{name=files/**}",
    )
    routes = [
        compile_rule(method, HttpRule(http_method, template))
        for http_method in ("GET", "DELETE")
        for template in templates
    ]
    document = openapi.document(routes)
    problems = lint(document, tmp_path)
    assert errors(problems) == []
    assert spectral_errors(document, tmp_path) == []
    # Paths that differ only in parameter names (`/v1/{name}`, `/v1/{name_1}`) are Redocly's
    # no-identical-paths errors; ambiguous ones its warnings.
    ruled = {p["ruleId"] for p in problems}
    assert not ruled & {"no-identical-paths", "no-ambiguous-paths"}
