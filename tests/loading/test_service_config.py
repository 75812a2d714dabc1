"""TRANSCODER_SERVICE_CONFIG: HTTP rules from gRPC API Configuration YAML, end to end.

An unannotated copy of the example set (every google.api.http option removed) routes from a
YAML document, from a file and from S3 through real boto3 and moto; a YAML rule replaces an
annotation; a wrong rule is reported while the rest serves; a document that is not a service
config never serves nor replaces a working one; a changed document swaps with the TTL.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from grpc_transcoder_tools import cli
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder import settings
from grpc_transcoder.lambda_handler import make_handler
from grpc_transcoder.loading import runtime as transcoder_runtime
from grpc_transcoder.loading import s3 as descriptor_s3
from grpc_transcoder.loading.registry import Registry, RuleOrigin
from grpc_transcoder.loading.runtime import Runtime
from grpc_transcoder.reserved.openapi import document as openapi_document
from tests.conftest import LIBRARY_SET, ROOT, Handler
from tests.event_builder import Source, build, response_json
from tests.service_configs import config_of, rules_of, unannotated_set
from tests.support import Clock

BUCKET = "transcoder-config"
SERVICE = "library.v1.LibraryService"
TTL = 60.0


@pytest.fixture(scope="module")
def bare_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bare") / "library-bare.binpb"
    path.write_bytes(unannotated_set())
    return path


def write(directory: Path, rules: list[dict[str, Any]], name: str = "api.yaml") -> Path:
    path = directory / name
    path.write_bytes(config_of(rules))
    return path


def handler_for(backend: str, **overrides: Any) -> tuple[Handler, Runtime]:
    runtime = Runtime(lambda: settings.load({}, backends=(("*", backend),), **overrides))
    return make_handler(runtime), runtime


def call(
    handler: Handler, method: str, path: str, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    data = None if body is None else orjson.dumps(body)
    event = build(Source.HTTP_API, method, path, body=data, **kwargs)
    answer = handler(event, LambdaContext(timeout_ms=10_000))
    return answer["statusCode"], response_json(answer)


def route_keys(registry_routes: Any) -> set[tuple[str, str, str, str, str]]:
    return {
        (r.http_method, r.template.text, r.body, r.response_body, r.method.full_name)
        for r in registry_routes
    }


def test_the_annotations_as_yaml_route_an_unannotated_set_exactly_alike(
    bare_set: Path, tmp_path: Path, registry: Registry
) -> None:
    config = write(tmp_path, rules_of(registry))
    annotated = transcoder_runtime.build(settings.load({}, descriptors=(str(LIBRARY_SET),)))
    from_yaml = transcoder_runtime.build(
        settings.load({}, descriptors=(str(bare_set),), service_config=(str(config),))
    )
    assert from_yaml.warnings == annotated.warnings == ()
    assert route_keys(from_yaml.routes.routes) == route_keys(annotated.routes.routes)
    origins = {r.origin for r in from_yaml.routes.routes}
    assert origins == {RuleOrigin.SERVICE_CONFIG, RuleOrigin.DEFAULT}
    # Without the YAML the bare set has only the default routes.
    bare = transcoder_runtime.build(settings.load({}, descriptors=(str(bare_set),)))
    assert {r.origin for r in bare.routes.routes} == {RuleOrigin.DEFAULT}


YAML_RULES: list[dict[str, Any]] = [
    {"selector": f"{SERVICE}.GetBook", "get": "/v1/{name=shelves/*/books/*}"},
    {"selector": f"{SERVICE}.CreateBook", "post": "/v1/{parent=shelves/*}/books", "body": "book"},
    {
        "selector": f"{SERVICE}.SearchBooks",
        "get": "/v1/books:search",
        "additionalBindings": [  # the JSON name works as well as the proto name
            {"post": "/v1/books:search", "body": "*"},
            {"get": "/v1/{shelf=shelves/*}/books:search"},
        ],
    },
]


def test_an_unannotated_api_routes_from_a_yaml_in_s3(
    bare_set: Path, s3: Any, monkeypatch: pytest.MonkeyPatch, backend: Any
) -> None:
    monkeypatch.setattr(descriptor_s3, "_client", None)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="api.binpb", Body=bare_set.read_bytes())
    s3.put_object(Bucket=BUCKET, Key="http.yaml", Body=config_of(YAML_RULES))
    handler, _ = handler_for(
        backend.target,
        descriptors=(f"s3://{BUCKET}/api.binpb",),
        service_config=(f"s3://{BUCKET}/http.yaml",),
    )
    status, book = call(handler, "GET", "/v1/shelves/fiction/books/dune")
    assert (status, book["title"]) == (200, "Dune")
    status, created = call(
        handler, "POST", "/v1/shelves/science/books", {"title": "Cosmos"}, query=[("bookId", "c")]
    )
    assert (status, created["name"], created["title"]) == (200, "shelves/science/books/c", "Cosmos")
    for method, path, body in (
        ("GET", "/v1/books:search", None),
        ("POST", "/v1/books:search", {"query": "dune"}),
        ("GET", "/v1/shelves/fiction/books:search", None),
    ):
        status, found = call(handler, method, path, body)
        assert status == 200, (method, path, found)
    # Methods the YAML does not name keep their default route only.
    assert call(handler, "GET", "/v1/shelves")[0] == 404
    status, shelves = call(handler, "POST", f"/{SERVICE}/ListShelves", {})
    assert status == 200
    assert shelves["shelves"]


def test_a_yaml_rule_replaces_the_annotation_of_its_method(tmp_path: Path, backend: Any) -> None:
    config = write(
        tmp_path, [{"selector": f"{SERVICE}.GetShelf", "get": "/v2/shelves/{name=shelves/*}"}]
    )
    handler, runtime = handler_for(
        backend.target, descriptors=(str(LIBRARY_SET),), service_config=(str(config),)
    )
    status, shelf = call(handler, "GET", "/v2/shelves/shelves/fiction")
    assert (status, shelf["name"]) == (200, "shelves/fiction")
    # The annotation's GET is gone (DeleteShelf keeps its DELETE on that path).
    assert call(handler, "GET", "/v1/shelves/fiction")[0] == 405
    assert call(handler, "POST", f"/{SERVICE}/GetShelf", {"name": "shelves/fiction"})[0] == 200
    getshelf = runtime.current().registry.methods[f"/{SERVICE}/GetShelf"]
    assert [(r.method, r.template, r.origin) for r in getshelf.rules] == [
        ("GET", "/v2/shelves/{name=shelves/*}", RuleOrigin.SERVICE_CONFIG)
    ]
    # Other methods keep their annotations.
    assert call(handler, "GET", "/v1/shelves/fiction/books/dune")[0] == 200


BAD_RULES: list[dict[str, Any]] = [
    {"selector": f"{SERVICE}.GetBook", "get": "/v1/{name=shelves/*/books/*}"},
    {"selector": f"{SERVICE}.NoSuchMethod", "get": "/v1/nothing"},
    {"selector": f"{SERVICE}.ListBooks", "get": "/v1/{parent=shelves/*/books"},
    {"selector": f"{SERVICE}.CreateBook", "post": "/v1/{parent=shelves/*}/books", "body": "bok"},
    {"selector": f"{SERVICE}.GetShelf", "gett": "/v1/{name=shelves/*}"},
    {"selector": "library.*", "get": "/v1/everything"},
    {"selector": f"{SERVICE}.DeleteShelf"},
]


def test_a_wrong_rule_is_reported_and_the_rest_serves(
    bare_set: Path, tmp_path: Path, backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    config = write(tmp_path, BAD_RULES)
    handler, runtime = handler_for(
        backend.target, descriptors=(str(bare_set),), service_config=(str(config),)
    )
    assert call(handler, "GET", "/v1/shelves/fiction/books/dune")[0] == 200
    warnings = runtime.current().warnings
    text = "\n".join(warnings)
    assert f"{SERVICE}.NoSuchMethod: no such method in the descriptor sets" in text
    assert "http.rules[2]" not in text  # template problems are routing problems...
    assert "GET '/v1/{parent=shelves/*/books'" in text
    assert "invalid template" in text
    assert "'bok'" in text
    assert "CreateBook" in text
    assert f"{config}: http.rules[4]" in text
    assert "gett" in text
    assert f"{config}: http.rules[5] (library.*): the selector must name one method" in text
    assert f"{config}: http.rules[6] ({SERVICE}.DeleteShelf): a binding has no get" in text
    assert len(warnings) == 6, warnings
    assert all(
        line.split(":")[0] in ("service config rule skipped", "route skipped") for line in warnings
    )
    logged = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("NoSuchMethod" in line for line in logged)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(b"http: [unclosed", "not valid YAML", id="not-yaml"),
        pytest.param(b"- a list\n", "expected a YAML mapping", id="a-list"),
        pytest.param(
            b"type: google.api.Endpoint\nhttp: {rules: []}\n",
            "expected `type: google.api.Service`, got 'google.api.Endpoint'",
            id="wrong-type",
        ),
        pytest.param(
            b"type: google.api.Service\nconfig_version: 2\n",
            "expected `config_version: 3`, got 2",
            id="old-version",
        ),
        pytest.param(
            b"type: google.api.Service\nconfig_version: 3\n",
            "no `http: rules:` list",
            id="no-rules",
        ),
        pytest.param(
            b"type: google.api.Service\nhttp:\n  rules:\n    - selector: a.B.C\n      body: *\n",
            "not valid YAML",  # `*` must be quoted in YAML
            id="unquoted-star",
        ),
    ],
)
def test_a_document_that_is_not_a_service_config_is_not_served(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    config = tmp_path / "http.yaml"
    config.write_bytes(content)
    handler, runtime = handler_for(
        "127.0.0.1:1", descriptors=(str(LIBRARY_SET),), service_config=(str(config),)
    )
    status, body = call(handler, "GET", "/v1/shelves/fiction")
    assert status == 503
    assert f"{config}: {problem}" in body["message"]
    assert not runtime.status().ready


def test_a_missing_document_is_a_load_problem(tmp_path: Path) -> None:
    handler, _ = handler_for(
        "127.0.0.1:1",
        descriptors=(str(LIBRARY_SET),),
        service_config=(str(tmp_path / "absent.yaml"),),
    )
    status, body = call(handler, "GET", "/v1/shelves/fiction")
    assert status == 503
    assert "absent.yaml: cannot read" in body["message"]


def test_a_changed_yaml_swaps_and_a_broken_one_never_replaces_it(
    bare_set: Path, s3: Any, monkeypatch: pytest.MonkeyPatch, backend: Any
) -> None:
    monkeypatch.setattr(descriptor_s3, "_client", None)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="api.binpb", Body=bare_set.read_bytes())

    def put(body: bytes) -> None:
        s3.put_object(Bucket=BUCKET, Key="http.yaml", Body=body)

    put(config_of([{"selector": f"{SERVICE}.GetShelf", "get": "/v1/{name=shelves/*}"}]))
    clock = Clock()
    runtime = Runtime(
        lambda: settings.load(
            {},
            descriptors=(f"s3://{BUCKET}/api.binpb",),
            service_config=(f"s3://{BUCKET}/http.yaml",),
            descriptors_ttl=TTL,
            backends=(("*", backend.target),),
        ),
        clock=clock,
    )
    handler = make_handler(runtime)
    assert call(handler, "GET", "/v1/shelves/fiction")[0] == 200
    first = runtime.current()
    put(b"type: google.api.Service\nhttp: [broken")
    clock.now += TTL
    assert call(handler, "GET", "/v1/shelves/fiction")[0] == 200
    assert runtime.current() is first
    assert "not valid YAML" in runtime.status().error
    put(config_of([{"selector": f"{SERVICE}.GetShelf", "get": "/v9/{name=shelves/*}"}]))
    clock.now += TTL
    assert call(handler, "GET", "/v9/shelves/fiction")[0] == 200
    assert call(handler, "GET", "/v1/shelves/fiction")[0] == 404
    swapped = runtime.current()
    assert swapped.registry.version != first.registry.version
    assert runtime.status().swaps == 1
    assert runtime.status().error == ""


def test_the_openapi_document_has_the_yaml_routes(bare_set: Path, tmp_path: Path) -> None:
    config = write(tmp_path, YAML_RULES)
    loaded = transcoder_runtime.build(
        settings.load({}, descriptors=(str(bare_set),), service_config=(str(config),))
    )
    paths = openapi_document.document(loaded.routes.routes)["paths"]
    assert "get" in paths["/v1/shelves/{shelves_id}/books:search"]
    assert "post" in paths["/v1/books:search"]


def test_check_and_routes_take_the_yaml_and_exit_one_on_problems(
    bare_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, YAML_RULES, "good.yaml")
    bad = write(tmp_path, BAD_RULES, "bad.yaml")
    assert cli.main(["descriptors", "check", str(bare_set), "--service-config", str(good)]) == 0
    out = capsys.readouterr().out
    assert "GET /v1/books:search (service config)" in out
    assert "no problems" in out
    assert cli.main(["descriptors", "check", str(bare_set), "--service-config", str(bad)]) == 1
    assert "NoSuchMethod: no such method" in capsys.readouterr().out
    assert cli.main(["routes", str(bare_set), "--service-config", str(good), "--json"]) == 0
    listed = orjson.loads(capsys.readouterr().out)
    origins = {(r["http_method"], r["template"]): r["origin"] for r in listed["routes"]}
    assert origins[("POST", "/v1/books:search")] == "service_config"
    assert cli.main(["routes", str(bare_set), "--service-config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "Service config rules left out (4):" in out
    assert "NoSuchMethod" in out
    assert cli.main(["openapi", str(bare_set), "--service-config", str(good)]) == 0
    document = orjson.loads(capsys.readouterr().out)
    assert "post" in document["paths"]["/v1/books:search"]


def test_routes_falls_back_to_the_setting(
    bare_set: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRANSCODER_SERVICE_CONFIG", str(write(tmp_path, YAML_RULES)))
    assert cli.main(["routes", str(bare_set)]) == 0
    assert "service_config" in capsys.readouterr().out


def test_yaml_is_imported_only_when_a_service_config_is_set(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from grpc_transcoder import settings\n"
        "from grpc_transcoder.loading import runtime\n"
        f"runtime.build(settings.load({{}}, descriptors=({str(LIBRARY_SET)!r},)))\n"
        "print('yaml' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
