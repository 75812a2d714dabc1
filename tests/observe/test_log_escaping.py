"""Log lines cannot be forged: text from a request or a backend is escaped in every line.

The logging configured at cold start (`access_log.configure_logging`) escapes control
characters and line separators in every record that reaches the root logger's handlers.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.observe import access_log
from tests.conftest import Handler
from tests.event_builder import Source, build

FORGED = "FORGED ERROR grpc_transcoder: all is lost"


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """What the root logger's handlers write, with the function's logging configured."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    access_log.configure_logging("INFO")
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _no_line_starts_forged(text: str) -> None:
    assert text.strip()
    assert not any(line.startswith("FORGED") for line in text.splitlines())


@pytest.mark.parametrize("separator", ["\n", "\r\n", "\r", "\u2028", "\x85"])
def test_a_backend_message_cannot_start_a_line(
    library_handler: Handler, context: LambdaContext, log_text: io.StringIO, separator: str
) -> None:
    body = orjson.dumps({"code": 14, "message": f"down for maintenance{separator}{FORGED}"})
    event = build(Source.HTTP_API, "POST", "/v1/debug:fail", body=body)
    response = library_handler(event, context)
    assert response["statusCode"] == 503
    text = log_text.getvalue()
    assert "down for maintenance" in text  # the backend's words are logged, escaped
    _no_line_starts_forged(text)
    assert all(ch not in text for ch in "\r\u2028\x85")


def test_a_request_path_cannot_start_a_line(
    library_handler: Handler, context: LambdaContext, log_text: io.StringIO
) -> None:
    event = build(Source.FUNCTION_URL, "GET", f"/v1/x%0A{FORGED.replace(' ', '%20')}")
    event["rawPath"] = f"/v1/x\n{FORGED}"  # as a source that decodes the path would pass it
    library_handler(event, context)
    _no_line_starts_forged(log_text.getvalue())


def test_the_filter_escapes_arguments_and_messages_alike() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s\tb", ("1\n2",), None)
    assert access_log.EscapingFilter().filter(record)
    assert record.getMessage() == "a 1\\n2\\tb"
    clean = logging.LogRecord("x", logging.INFO, __file__, 1, "fine %d", (3,), None)
    access_log.EscapingFilter().filter(clean)
    assert (clean.msg, clean.args) == ("fine %d", (3,))  # untouched when nothing to escape


@pytest.mark.parametrize("character", ["\x7f", "\x85", "\u2028", "\u2029"])
def test_escaped_json_lines_stay_json(character: str) -> None:
    """Lines JSON allows raw characters in (the access log, the metrics line) are escaped
    with JSON's own escapes, so they stay one line and still parse."""
    line = orjson.dumps({"path": f"/v1/a{character}b"}).decode()
    escaped = access_log.escape_line(line)
    assert character not in escaped
    assert orjson.loads(escaped) == {"path": f"/v1/a{character}b"}
    record = logging.LogRecord("x", logging.INFO, __file__, 1, line, None, None)
    access_log.EscapingFilter().filter(record)
    assert orjson.loads(record.getMessage()) == {"path": f"/v1/a{character}b"}
