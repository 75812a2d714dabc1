"""runtime: loading, 503 while not ready with a backoff, and live swaps of changed S3 sets."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from google.api import annotations_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder import settings
from grpc_transcoder.errors import NotReadyError
from grpc_transcoder.lambda_handler import make_handler
from grpc_transcoder.loading import s3 as descriptor_s3
from grpc_transcoder.loading.runtime import Runtime
from tests.conftest import LIBRARY_SET, ROOT, Handler
from tests.event_builder import Source, build, response_header, response_json
from tests.support import Clock

BUCKET = "transcoder-config"
KEY = "api.binpb"
URI = f"s3://{BUCKET}/{KEY}"
TTL = 60.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


def runtime_with(clock: Clock, backend: str = "127.0.0.1:1", **overrides: Any) -> Runtime:
    overrides.setdefault("descriptors", (str(LIBRARY_SET),))
    overrides.setdefault("backends", (("*", backend),))
    return Runtime(lambda: settings.load({}, **overrides), clock=clock)


def get(runtime: Runtime, path: str) -> dict[str, Any]:
    handler: Handler = make_handler(runtime)
    return handler(build(Source.HTTP_API, "GET", path), LambdaContext(timeout_ms=10_000))


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "grpc_transcoder.loading.runtime" and r.levelno >= 40
    ]


# -- loading and not-ready ------------------------------------------------------------------


def test_the_loaded_transcoder_is_kept(clock: Clock) -> None:
    runtime = runtime_with(clock)
    first = runtime.current()
    assert runtime.current() is first
    status = runtime.status()
    assert (status.ready, status.version, status.error, status.swaps) == (
        True,
        first.registry.version,
        "",
        0,
    )


def test_not_ready_answers_503_with_the_cause(clock: Clock, tmp_path: Path) -> None:
    missing = tmp_path / "api.binpb"
    response = get(runtime_with(clock, descriptors=(str(missing),)), "/v1/shelves")
    assert response["statusCode"] == 503
    assert response_header(response, "retry-after") == "5"
    assert response_json(response) == {
        "code": 14,
        "message": "the transcoder is not ready: cannot load the descriptor sets: 1 problem in "
        f"the descriptor sets: {missing}: cannot read (No such file or directory)",
        "details": [],
    }


def test_a_failed_load_is_one_log_line_with_the_uri_and_cause(
    clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "api.binpb"
    runtime = runtime_with(clock, descriptors=(str(missing),))
    with pytest.raises(NotReadyError):
        runtime.load()
    (record,) = errors_logged(caplog)
    assert record.exc_info is None
    assert record.getMessage() == (
        "not ready (next attempt in 5 s): cannot load the descriptor sets: 1 problem in the "
        f"descriptor sets: {missing}: cannot read (No such file or directory)"
    )


def test_failures_are_retried_with_a_doubling_backoff(clock: Clock, tmp_path: Path) -> None:
    path = tmp_path / "api.binpb"
    runtime = runtime_with(clock, descriptors=(str(path),), descriptors_retry_seconds=100.0)
    waits = []
    for _ in range(4):
        with pytest.raises(NotReadyError) as caught:
            runtime.current()
        waits.append(caught.value.headers["retry-after"])
        clock.now += float(caught.value.headers["retry-after"])
    assert waits == ["100", "200", "300", "300"]
    path.write_bytes(LIBRARY_SET.read_bytes())
    clock.now -= 1  # the set is there now, but the next attempt is not due yet
    with pytest.raises(NotReadyError, match="not ready"):
        runtime.current()
    clock.now += 1
    assert runtime.current().registry.services
    assert runtime.status().error == ""


def test_a_load_after_the_retry_serves_normally(
    clock: Clock, tmp_path: Path, backend: example_backend.RunningBackend
) -> None:
    path = tmp_path / "api.binpb"
    runtime = runtime_with(clock, backend.target, descriptors=(str(path),))
    assert get(runtime, "/v1/shelves/fiction")["statusCode"] == 503
    path.write_bytes(LIBRARY_SET.read_bytes())
    clock.now += 5
    response = get(runtime, "/v1/shelves/fiction")
    assert response["statusCode"] == 200
    assert response_json(response)["theme"] == "Fiction"


def test_invalid_settings_are_not_ready_with_the_default_backoff(clock: Clock) -> None:
    runtime = Runtime(lambda: settings.load({"TRANSCODER_DESCRIPTORS_TTL": "soon"}), clock=clock)
    with pytest.raises(NotReadyError) as caught:
        runtime.current()
    assert caught.value.message == (
        "the transcoder is not ready: invalid configuration: "
        "TRANSCODER_DESCRIPTORS_TTL: expected a number, got 'soon'"
    )
    assert caught.value.headers == {"retry-after": "5"}


def test_an_unexpected_failure_is_logged_with_its_trace_but_not_answered(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> settings.Settings:
        raise RuntimeError("internal detail")

    runtime = Runtime(broken, clock=clock)
    with pytest.raises(NotReadyError) as caught:
        runtime.current()
    assert "internal detail" not in caught.value.message
    assert caught.value.message.endswith(
        "unexpected RuntimeError while loading (see the function's log)"
    )
    (record,) = errors_logged(caplog)
    assert record.exc_info is not None


_COLD_START = """
import json, sys
from grpc_transcoder_tools.local_server import LambdaContext
from tests.event_builder import Source, build
from grpc_transcoder import lambda_handler
response = lambda_handler.handler(build(Source.REST_API, "GET", "/v1/shelves"), LambdaContext())
print(json.dumps(response))
"""


def test_the_lambda_module_imports_even_when_descriptors_are_missing(tmp_path: Path) -> None:
    env = {"TRANSCODER_DESCRIPTORS": str(tmp_path / "gone.binpb"), "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", _COLD_START],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    response = json.loads(result.stdout.splitlines()[-1])  # after any metrics records
    assert response["statusCode"] == 503
    assert "gone.binpb: cannot read" in json.loads(response["body"])["message"]
    assert "Traceback" not in result.stderr


# -- live swap ------------------------------------------------------------------------------


def library_set(*, shelf_template: str = "/v1/{name=shelves/*}") -> bytes:
    """The example set, with GetShelf's template replaced (a visible API change)."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(LIBRARY_SET.read_bytes())
    for file in fds.file:
        for service in file.service:
            for method in service.method:
                if method.name == "GetShelf":
                    method.options.Extensions[annotations_pb2.http].get = shelf_template
    return fds.SerializeToString(deterministic=True)


@pytest.fixture
def bucket(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The function's bucket holding the example set; a fresh shared client for this server."""
    monkeypatch.setattr(descriptor_s3, "_client", None)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=library_set())
    return s3


@pytest.fixture
def swapping(bucket: Any, clock: Clock, backend: example_backend.RunningBackend) -> Runtime:
    runtime = runtime_with(clock, backend.target, descriptors=(URI,), descriptors_ttl=TTL)
    runtime.load()
    return runtime


def test_nothing_is_asked_before_the_ttl(swapping: Runtime, bucket: Any, clock: Clock) -> None:
    before = swapping.current()
    bucket.put_object(
        Bucket=BUCKET, Key=KEY, Body=library_set(shelf_template="/v2/{name=shelves/*}")
    )
    clock.now += TTL - 1
    assert swapping.current() is before


def test_an_unchanged_set_is_not_rebuilt(swapping: Runtime, clock: Clock) -> None:
    before = swapping.current()
    clock.now += TTL
    assert swapping.current() is before
    assert swapping.status().swaps == 0


def test_a_changed_set_is_swapped_in_whole(
    swapping: Runtime, bucket: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="grpc_transcoder.loading.runtime")
    in_flight = swapping.current()
    channels = swapping.channels
    assert get(swapping, "/v1/shelves/fiction")["statusCode"] == 200
    bucket.put_object(
        Bucket=BUCKET, Key=KEY, Body=library_set(shelf_template="/v2/{name=shelves/*}")
    )
    clock.now += TTL
    assert get(swapping, "/v2/shelves/fiction")["statusCode"] == 200
    gone = get(swapping, "/v1/shelves/fiction")  # only DeleteShelf is left on that path
    assert (gone["statusCode"], response_header(gone, "allow")) == (405, "DELETE")
    swapped = swapping.current()
    assert swapped is not in_flight
    assert swapping.channels is channels
    assert swapping.status().swaps == 1
    # A request that started before the swap still holds a complete, consistent Transcoder.
    match = in_flight.routes.match("GET", "/v1/shelves/fiction")
    assert match.route.method.grpc_path == "/library.v1.LibraryService/GetShelf"
    assert in_flight.registry.pool.FindMessageTypeByName("library.v1.Shelf")
    swap_lines = [r.getMessage() for r in caplog.records if "swapped" in r.getMessage()]
    assert swap_lines == [
        f"swapped {in_flight.registry.version} for descriptors {swapped.registry.version}: "
        f"2 services, 26 methods, {len(swapped.routes.routes)} routes in 0.0 ms"
    ]


def test_a_broken_change_never_replaces_a_working_set(
    swapping: Runtime, bucket: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    working = swapping.current()
    bucket.put_object(Bucket=BUCKET, Key=KEY, Body=b"\xff not a descriptor set")
    clock.now += TTL
    assert get(swapping, "/v1/shelves/fiction")["statusCode"] == 200
    assert swapping.current() is working
    (record,) = errors_logged(caplog)
    assert record.getMessage().startswith(
        f"changed descriptors rejected, still serving {working.registry.version}: cannot load "
        f"the descriptor sets: 1 problem in the descriptor sets: {URI}: not a serialized"
    )
    assert swapping.status().error.startswith("cannot load the descriptor sets")
    # The broken object is not downloaded and rejected again while it stays the same...
    clock.now += TTL
    assert swapping.current() is working
    assert len(errors_logged(caplog)) == 1
    # ...and a fixed upload swaps in.
    bucket.put_object(
        Bucket=BUCKET, Key=KEY, Body=library_set(shelf_template="/v3/{name=shelves/*}")
    )
    clock.now += TTL
    assert get(swapping, "/v3/shelves/fiction")["statusCode"] == 200
    assert swapping.status().error == ""


def test_an_unreachable_source_keeps_the_working_set(
    swapping: Runtime, bucket: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    working = swapping.current()
    bucket.delete_object(Bucket=BUCKET, Key=KEY)
    clock.now += TTL
    assert swapping.current() is working
    (record,) = errors_logged(caplog)
    assert record.getMessage().startswith(
        f"cannot revalidate descriptors, still serving {working.registry.version}: "
    )
    assert f"{URI}: cannot read (NoSuchKey" in record.getMessage()


def test_the_same_bytes_under_a_new_name_are_not_rebuilt(
    bucket: Any, clock: Clock, backend: example_backend.RunningBackend
) -> None:
    bucket.put_object(Bucket=BUCKET, Key="sets/a.binpb", Body=library_set())
    runtime = runtime_with(
        clock, backend.target, descriptors=(f"s3://{BUCKET}/sets/",), descriptors_ttl=TTL
    )
    before = runtime.current()
    bucket.put_object(Bucket=BUCKET, Key="sets/b.binpb", Body=library_set())
    bucket.delete_object(Bucket=BUCKET, Key="sets/a.binpb")
    clock.now += TTL
    assert runtime.current() is before


def test_concurrent_requests_swap_once(swapping: Runtime, bucket: Any, clock: Clock) -> None:
    bucket.put_object(
        Bucket=BUCKET, Key=KEY, Body=library_set(shelf_template="/v2/{name=shelves/*}")
    )
    clock.now += TTL
    seen: list[str] = []
    threads = [
        threading.Thread(target=lambda: seen.append(swapping.current().registry.version))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(seen) == 8
    assert swapping.status().swaps == 1


def test_without_a_ttl_sources_are_never_revalidated(
    bucket: Any, clock: Clock, backend: example_backend.RunningBackend
) -> None:
    runtime = runtime_with(clock, backend.target, descriptors=(URI,))
    before = runtime.current()
    bucket.put_object(
        Bucket=BUCKET, Key=KEY, Body=library_set(shelf_template="/v2/{name=shelves/*}")
    )
    clock.now += 10 * 365 * 86400
    assert runtime.current() is before
    assert runtime.revalidate() is True  # an explicit call still works


def test_revalidate_before_any_load_does_nothing(clock: Clock) -> None:
    assert runtime_with(clock).revalidate() is False


def test_warnings_are_logged_at_load(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    runtime = runtime_with(clock, backends=(("other.Service", "127.0.0.1:1"),))
    transcoder = runtime.current()
    assert transcoder.warnings == (
        "no backend configured for: library.v1.LibraryService, library.v1.DebugService",
    )
    assert any(r.getMessage() == transcoder.warnings[0] for r in caplog.records)


def test_descriptor_notes_are_logged_at_load(
    clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="grpc_transcoder.loading.runtime")
    types = descriptor_pb2.FileDescriptorProto(name="types.proto", package="t", syntax="proto3")
    types.message_type.add(name="Shared")
    path = tmp_path / "types.binpb"
    path.write_bytes(descriptor_pb2.FileDescriptorSet(file=[types]).SerializeToString())
    runtime_with(clock, descriptors=(str(LIBRARY_SET), str(path))).current()
    assert f"descriptors: {path}: defines no services (only types)" in caplog.messages


def test_a_revalidation_already_running_is_not_started_twice(swapping: Runtime) -> None:
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with swapping._lock:  # another thread in the middle of a revalidation or load
            held.set()
            release.wait(timeout=10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(timeout=10)
    try:
        assert swapping.revalidate() is False
    finally:
        release.set()
        holder.join(timeout=10)


def test_requests_waiting_for_the_first_load_get_its_result(clock: Clock) -> None:
    runtime = runtime_with(clock)
    results: list[object] = []
    with runtime._lock:  # the cold start is loading while a request arrives
        waiter = threading.Thread(target=lambda: results.append(runtime.current()))
        waiter.start()
        loaded = runtime.load()
        waiter.join(timeout=0.2)  # blocked on the lock until the load is done
    waiter.join(timeout=10)
    assert results == [loaded]
