"""The import direction of the package: edge -> pipeline -> stages -> json -> the shared words.

A module may import its own layer and the layers below, never one above; the JSON codec imports
nothing of the project but `errors`; the core (routing, decoding, json, encoding and the shared
words) imports no gRPC, botocore, Starlette or Mangum, so parsers, matchers and codecs are tested
with plain values. Imports made only for type checking (`if TYPE_CHECKING:`) do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "grpc_transcoder"

# From the top down. Names are module prefixes under grpc_transcoder.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("lambda_handler", "edge"),
    ("pipeline", "loading.runtime", "loading.state"),
    (
        "routing",
        "decoding",
        "calling",
        "encoding",
        "passthrough",
        "connect",
        "hooks",
        "reserved",
        "observe",
        "loading",
    ),
    ("json",),
    ("errors", "settings", "exchange", "observe.tracing"),
)
CORE = ("routing", "decoding", "json", "encoding", "errors", "settings", "exchange")
FOREIGN_TO_CORE = ("grpc", "botocore", "boto3", "starlette", "mangum")
ONLY_IN = {  # third-party packages and the only parts allowed to import them
    "mangum": ("edge", "lambda_handler"),
    "botocore": ("loading.s3",),
    "grpc_reflection": ("loading.reflection",),
    "yaml": ("loading.service_config",),
    "starlette": (),
}


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE).with_suffix("")
    parts = [part for part in relative.parts if part != "__init__"]
    return ".".join(parts)


def _runtime_imports(path: Path) -> list[str]:
    """Every module `path` imports, outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text())
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for child in ast.walk(node))
    found: list[str] = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "grpc_transcoder":
                found.extend(f"grpc_transcoder.{alias.name}" for alias in node.names)
            else:
                found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _layer(name: str) -> int:
    """The layer of a module: the most specific prefix that names it wins."""
    best, depth = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if _matches(name, prefix) and prefix.count(".") > depth:
                best, depth = index, prefix.count(".")
    return best


MODULES = sorted(PACKAGE.rglob("*.py"))
IDS = [_module_name(path) or "__init__" for path in MODULES]


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name in IDS if name != "__init__" and _layer(name) < 0]
    assert unplaced == []


def _own_imports(path: Path) -> list[str]:
    names = []
    for imported in _runtime_imports(path):
        if imported.startswith("grpc_transcoder."):
            names.append(imported.removeprefix("grpc_transcoder."))
    return names


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    name = _module_name(path)
    if not name:
        return
    own = _layer(name)
    above = [imported for imported in _own_imports(path) if 0 <= _layer(imported) < own]
    assert above == [], f"{name} (layer {own}) imports upward"


@pytest.mark.parametrize("path", [p for p in MODULES if _matches(_module_name(p), "json")])
def test_the_json_codec_imports_only_errors_of_the_project(path: Path) -> None:
    others = [
        imported
        for imported in _own_imports(path)
        if not (_matches(imported, "json") or _matches(imported, "errors"))
    ]
    assert others == []


@pytest.mark.parametrize(
    "path", [p for p in MODULES if any(_matches(_module_name(p), core) for core in CORE)]
)
def test_the_core_imports_no_grpc_aws_or_web_framework(path: Path) -> None:
    foreign = [
        imported
        for imported in _runtime_imports(path)
        if any(_matches(imported, package) for package in FOREIGN_TO_CORE)
    ]
    assert foreign == []


@pytest.mark.parametrize("package", sorted(ONLY_IN))
def test_third_party_edges_are_imported_in_one_place(package: str) -> None:
    allowed = ONLY_IN[package]
    offenders = [
        _module_name(path)
        for path in MODULES
        if any(_matches(imported, package) for imported in _runtime_imports(path))
        and not any(_matches(_module_name(path), prefix) for prefix in allowed)
    ]
    assert offenders == []


def test_the_layering_test_sees_an_upward_import(tmp_path: Path) -> None:
    """A routing module importing the pipeline would be caught."""
    module = tmp_path / "bad.py"
    module.write_text(
        "from grpc_transcoder import pipeline\nfrom grpc_transcoder.edge import adapter\n"
    )
    imported = [name.removeprefix("grpc_transcoder.") for name in _runtime_imports(module)]
    assert [_layer(name) for name in imported] == [1, 0]
    assert _layer("routing.table") == 2
