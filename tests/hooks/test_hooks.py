"""Hooks: the public API and patterns on plain values, loading, then hooks through the handler.

The hooks modules under tests/hooks/ are loaded by name, as TRANSCODER_HOOKS names them.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from grpc_transcoder_tools.local_server import LambdaContext
from hypothesis import given
from hypothesis import strategies as st

from grpc_transcoder import hooks
from grpc_transcoder.errors import ConfigurationError, TranscoderError
from grpc_transcoder.exchange import HttpRequest
from grpc_transcoder.hooks import Code, HookCall, HookError, Hooks, Stage
from grpc_transcoder.hooks import patterns as hook_patterns
from grpc_transcoder.hooks.table import NO_RUN, HookTable
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.loading.runtime import build
from grpc_transcoder.settings import load
from tests.conftest import LIBRARY_SET, Handler
from tests.event_builder import Source, response_body, response_json
from tests.event_builder import build as build_event

MakeHandler = Callable[..., Handler]
CREATE_SHELF = "library.v1.LibraryService/CreateShelf"
STAFF = {"jwt": {"claims": {"sub": "ann", "scope": "read staff"}}}
READER = {"jwt": {"claims": {"sub": "bob", "scope": "read"}}}


# -- patterns ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("*", id="any"),
        pytest.param("library.*", id="package"),
        pytest.param("library.v1.*", id="nested-package"),
        pytest.param("library.v1.LibraryService/*", id="service"),
        pytest.param("library.v1.LibraryService/GetBook", id="method"),
        pytest.param("Svc/Get", id="no-package"),
    ],
)
def test_valid_patterns(pattern: str) -> None:
    hook_patterns.check(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("", id="empty"),
        pytest.param("library.v1.LibraryService", id="service-without-method"),
        pytest.param("library.v1.*/Get", id="wildcard-service"),
        pytest.param("*/Get", id="star-service"),
        pytest.param("library.v1.LibraryService/Get*", id="partial-wildcard"),
        pytest.param("/library.v1.LibraryService/Get", id="leading-slash"),
    ],
)
def test_invalid_patterns_name_the_grammar(pattern: str) -> None:
    with pytest.raises(ValueError, match=r"package\.Service/Method"):
        hook_patterns.check(pattern)


@given(st.text(max_size=30))
def test_any_pattern_is_checked_or_refused(pattern: str) -> None:
    try:
        hook_patterns.check(pattern)
    except ValueError:
        return
    assert hook_patterns.matches(pattern, pattern.replace("*", "X") + "/M") or "/" in pattern


@pytest.mark.parametrize(
    ("pattern", "method", "expected"),
    [
        pytest.param("*", "a.B/C", True, id="any"),
        pytest.param("a.*", "a.b.C/D", True, id="sub-package"),
        pytest.param("a.*", "ab.C/D", False, id="package-prefix-only"),
        pytest.param("a.B/*", "a.B/C", True, id="service"),
        pytest.param("a.B/*", "a.BB/C", False, id="other-service"),
        pytest.param("a.B/C", "a.B/C", True, id="method"),
        pytest.param("a.B/C", "a.B/CC", False, id="other-method"),
    ],
)
def test_matches(pattern: str, method: str, expected: bool) -> None:
    assert hook_patterns.matches(pattern, method) is expected


def test_request_hooks_run_general_first_and_response_hooks_specific_first(
    registry: Registry,
) -> None:
    registered = Hooks()
    order: list[str] = []
    patterns = ["library.v1.LibraryService/GetBook", "*", "library.v1.LibraryService/*"]
    patterns += ["library.*", "library.v1.*", "other.*"]
    for pattern in patterns:
        registered.request(pattern)(_recorder(order, "request " + pattern))
        registered.response(pattern)(_recorder(order, "response " + pattern))
    run = HookTable(registered).start("library.v1.LibraryService/GetBook", HttpRequest("POST", "/"))
    run.request(registry.new_message("library.v1.GetBookRequest"))
    run.response(registry.new_message("library.v1.Book"))
    general_first = ["*", "library.*", "library.v1.*", "library.v1.LibraryService/*"]
    general_first.append("library.v1.LibraryService/GetBook")
    assert order == [f"request {p}" for p in general_first] + [
        f"response {p}" for p in reversed(general_first)
    ]


def _recorder(order: list[str], label: str) -> Callable[[Any, HookCall], None]:
    def record(message: Any, call: HookCall) -> None:
        order.append(label)

    return record


# -- the public API ---------------------------------------------------------------------------


def test_registration_needs_a_pattern_and_a_function() -> None:
    registered = Hooks()
    with pytest.raises(ValueError, match="at least one method pattern"):
        registered.request()
    with pytest.raises(ValueError, match="invalid hook pattern"):
        registered.response("library")
    with pytest.raises(TypeError, match="must be a function"):
        registered.request("*")(42)  # type: ignore[type-var]


@pytest.mark.parametrize("code", [pytest.param(0, id="ok"), pytest.param(17, id="beyond")])
def test_a_hook_error_needs_an_error_code(code: int) -> None:
    with pytest.raises(ValueError, match="from 1 to 16"):
        HookError(code, "x")


def test_a_hook_error_maps_its_code_and_violations() -> None:
    error = HookError(Code.PERMISSION_DENIED, "no", violations={"a.b": "is secret"})
    assert (error.status, error.grpc_code, error.message) == (403, 7, "no")
    assert error.details[0]["fieldViolations"] == [{"field": "a.b", "description": "is secret"}]
    assert HookError(Code.NOT_FOUND, "gone").details == []


def _call(authorizer: dict[str, Any] | None = None) -> HookCall:
    request = HttpRequest(
        "POST", "/p", headers={"a": "1"}, request_id="r1", authorizer=authorizer or {}
    )
    return HookCall.of(request, CREATE_SHELF)


def test_the_call_context_exposes_the_request_and_the_authorizer() -> None:
    call = _call({"jwt": {"claims": {"https://x.io/role": "a"}}})
    assert (call.method, call.service, call.http_method, call.path) == (
        CREATE_SHELF,
        "library.v1.LibraryService",
        "POST",
        "/p",
    )
    assert (call.headers["a"], call.request_id) == ("1", "r1")
    assert call.claim("jwt.claims.https://x.io/role") == "a"
    assert call.claim("jwt.claims.missing") is None
    assert _call().authorizer == {}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        pytest.param("X-Upper", "v", "cannot be a metadata key", id="upper-case"),
        pytest.param("grpc-timeout", "1S", "cannot be a metadata key", id="grpc"),
        pytest.param("host", "h", "cannot be a metadata key", id="host"),
        pytest.param("x-bin", "text", "bytes values need a -bin key", id="text-in-bin"),
        pytest.param("x-text", b"\x00", "bytes values need a -bin key", id="bytes-in-text"),
        pytest.param("x-text", "caf\u00e9", "printable ASCII", id="non-ascii"),
    ],
)
def test_added_metadata_must_be_valid_for_grpc(key: str, value: str | bytes, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        _call().add_metadata(key, value)


def test_added_metadata_is_kept_in_order() -> None:
    call = _call()
    call.add_metadata("x-a", "1")
    call.add_metadata("x-b-bin", b"\x00")
    assert call.added_metadata == (("x-a", "1"), ("x-b-bin", b"\x00"))


def test_only_request_hooks_add_metadata() -> None:
    with pytest.raises(ValueError, match="only be added by request hooks"):
        HookCall("m", "POST", "/", {}, {}, "r", Stage.RESPONSE).add_metadata("x-a", "1")


def test_no_hooks_means_no_work() -> None:
    table = HookTable()
    assert not table
    assert table.start(CREATE_SHELF, HttpRequest("POST", "/")) is NO_RUN
    assert NO_RUN.metadata == ()
    assert NO_RUN.request_bytes([b"\x01"], None) == [b"\x01"]  # type: ignore[arg-type]
    assert NO_RUN.response_bytes(b"\x01", None) == b"\x01"  # type: ignore[arg-type]


def test_a_method_without_matching_hooks_runs_none() -> None:
    registered = Hooks()
    registered.request("other.v1.*")(_recorder([], "x"))
    assert HookTable(registered).start(CREATE_SHELF, HttpRequest("POST", "/")) is NO_RUN


# -- loading ----------------------------------------------------------------------------------


def test_no_module_means_no_hooks() -> None:
    assert hooks.load("") is None
    assert not HookTable.load("")


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        pytest.param("tests.hooks.nowhere", "ModuleNotFoundError", id="missing"),
        pytest.param(
            "tests.hooks.fails_to_import", "No module named 'a_dependency", id="import-fails"
        ),
        pytest.param("tests.hooks.no_hooks_object", "has no `hooks = Hooks()`", id="malformed"),
        pytest.param("tests.hooks.bad_pattern", "ValueError: invalid hook pattern", id="pattern"),
    ],
)
def test_a_bad_hooks_module_is_a_configuration_error(module: str, expected: str) -> None:
    with pytest.raises(ConfigurationError, match="TRANSCODER_HOOKS") as caught:
        hooks.load(module)
    assert expected in str(caught.value)
    assert module in str(caught.value)


def test_a_bad_hooks_module_makes_the_function_answer_503_saying_why(
    make_library_handler: MakeHandler, context: LambdaContext
) -> None:
    handler = make_library_handler(hooks="tests.hooks.fails_to_import")
    response = handler(build_event(Source.HTTP_API, "GET", "/v1/shelves"), context)
    assert response["statusCode"] == 503
    message = response_json(response)["message"]
    assert "TRANSCODER_HOOKS: cannot import 'tests.hooks.fails_to_import'" in message


def test_patterns_that_match_no_loaded_method_are_warned_about() -> None:
    settings = load({}, descriptors=(str(LIBRARY_SET),), hooks="tests.hooks.catch_all")
    assert not [w for w in build(settings).warnings if "TRANSCODER_HOOKS" in w]
    registered = Hooks()
    registered.request("library.v1.LibraryService/Nope", "*")(_recorder([], "x"))
    warnings = HookTable(registered, source="m").unmatched([CREATE_SHELF])
    assert warnings == [
        "TRANSCODER_HOOKS: m: pattern 'library.v1.LibraryService/Nope' matches no loaded method"
    ]


# -- through the handler (the README's worked example) ----------------------------------------


def _post(
    handler: Handler,
    context: LambdaContext,
    path: str,
    body: Any,
    authorizer: dict[str, Any] | None = None,
    *,
    query: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    event = build_event(
        Source.HTTP_API,
        "POST",
        path,
        query=query or [],
        headers=[("content-type", "application/json")],
        body=json.dumps(body),
        authorizer=authorizer,
    )
    return handler(event, context)


@pytest.fixture
def rules(make_library_handler: MakeHandler) -> Handler:
    return make_library_handler(hooks="tests.hooks.library_rules")


def test_a_hook_modifies_the_request_from_an_authorizer_claim(
    rules: Handler, context: LambdaContext
) -> None:
    shelf_id = f"h-{uuid.uuid4().hex[:8]}"
    body = {"theme": "Travel"}
    response = _post(rules, context, "/v1/shelves", body, STAFF, query=[("shelfId", shelf_id)])
    assert response["statusCode"] == 201, response_body(response)
    assert response_json(response)["labels"] == {"owner": "ann"}


def test_a_hook_rejects_with_its_code_and_violations(
    rules: Handler, context: LambdaContext
) -> None:
    response = _post(rules, context, "/v1/shelves", {"theme": "  "}, STAFF)
    assert response["statusCode"] == 400
    assert response_json(response) == {
        "code": 3,
        "message": "a shelf needs a theme",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "shelf.theme", "description": "must not be empty"}],
            }
        ],
    }
    unauthenticated = _post(rules, context, "/v1/shelves", {"theme": "Art"})
    assert unauthenticated["statusCode"] == 401


@pytest.mark.parametrize(
    ("authorizer", "copies_sold"),
    [pytest.param(STAFF, "20000000", id="staff"), pytest.param(READER, "0", id="reader")],
)
def test_a_response_hook_redacts_a_field(
    make_library_handler: MakeHandler,
    context: LambdaContext,
    authorizer: dict[str, Any],
    copies_sold: str,
) -> None:
    handler = make_library_handler(hooks="tests.hooks.library_rules")
    event = build_event(
        Source.HTTP_API, "GET", "/v1/shelves/fiction/books/dune", authorizer=authorizer
    )
    assert response_json(handler(event, context))["copiesSold"] == copies_sold
    stream = build_event(
        Source.HTTP_API, "GET", "/v1/shelves/fiction/books:stream", authorizer=authorizer
    )
    books = response_json(handler(stream, context))
    assert {b["copiesSold"] for b in books if b["title"] == "Dune"} == {copies_sold}


@pytest.fixture
def misbehaving(make_library_handler: MakeHandler) -> Handler:
    return make_library_handler(hooks="tests.hooks.misbehaving")


@pytest.mark.parametrize(
    ("path", "body", "logged"),
    [
        pytest.param(
            "/library.v1.DebugService/Ping", {}, "hook tests.hooks.misbehaving.crash", id="raises"
        ),
        pytest.param("/v1/debug/kinds:echo", {}, "returned 'str'", id="wrong-type"),
        pytest.param(
            "/v1/debug:fail", {}, "hook tests.hooks.misbehaving.bad_metadata", id="metadata"
        ),
    ],
)
def test_a_failing_hook_answers_internal_with_the_request_id_and_is_logged(
    misbehaving: Handler,
    context: LambdaContext,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: Any,
    logged: str,
) -> None:
    with caplog.at_level(logging.INFO, logger="grpc_transcoder"):
        response = _post(misbehaving, context, path, body)
    assert response["statusCode"] == 500
    error = response_json(response)
    assert error["code"] == 13
    request_id = error["details"][0]["requestId"]
    assert error["message"] == f"internal error; quote request id {request_id}"
    assert "Traceback" not in response_body(response).decode()
    assert logged in caplog.text
    assert request_id in caplog.text


def test_a_response_hook_cannot_add_metadata(misbehaving: Handler, context: LambdaContext) -> None:
    event = build_event(Source.HTTP_API, "GET", "/v1/debug:sleep")
    response = misbehaving(event, context)
    assert response["statusCode"] == 500
    assert response_json(response)["code"] == 13


def test_a_hook_adds_metadata_and_replaces_the_message(
    misbehaving: Handler, registry: Registry, context: LambdaContext
) -> None:
    response = _post(misbehaving, context, "/v1/debug/metadata:echo", {})
    assert response["statusCode"] == 200, response_body(response)
    received = {e["key"]: e for e in response_json(response)["received"]}
    assert received["x-added-by-hook"]["value"] == "yes"
    assert received["x-hook-bin"]["binaryValue"] == "AAE="
    assert dict(response["headers"])["grpc-metadata-x-from-hook"] == (
        "library.v1.DebugService/EchoMetadata"
    )


def test_request_hooks_see_each_message_of_a_client_stream(
    misbehaving: Handler, context: LambdaContext
) -> None:
    response = _post(misbehaving, context, "/v1/debug:chat", [{"text": "hi"}, {"text": "yo"}])
    assert [m["text"] for m in response_json(response)] == ["HI", "YO"]


def test_a_response_hook_error_ends_a_json_stream_after_its_messages(
    misbehaving: Handler, context: LambdaContext
) -> None:
    event = build_event(Source.HTTP_API, "GET", "/v1/debug:stream", query=[("count", "4")])
    items = response_json(misbehaving(event, context))
    assert [i.get("payload") for i in items[:2]] == ["seen by the hook"] * 2
    assert items[2] == {"error": {"code": 7, "message": "item 2 is secret", "details": []}}


def test_a_backend_answer_the_response_hooks_cannot_parse_is_internal(
    registry: Registry,
) -> None:
    registered = Hooks()
    registered.response("*")(_recorder([], "x"))
    run = HookTable(registered).start(CREATE_SHELF, HttpRequest("POST", "/"))
    shelf = registry.pool.FindMessageTypeByName("library.v1.Shelf")
    with pytest.raises(TranscoderError, match=r"not a serialized library\.v1\.Shelf") as caught:
        run.response_bytes(b"\xff\xff", shelf)
    assert caught.value.grpc_code == Code.INTERNAL
