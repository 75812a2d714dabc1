"""Connect fixtures: client code generated for the example API, and the local server.

The client code is generated here, in a temporary directory, by protoc with Connect's own
Python plugin (`protoc-gen-connectrpc`, for google.protobuf messages): it is never part of the
package. The server is the local server of `./tasks serve`: real HTTP on loopback, each request
turned into an API Gateway HTTP API event for the real Lambda handler.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LocalServer

from grpc_transcoder.lambda_handler import make_handler
from tests.conftest import LIBRARY_SET, runtime_for

PLUGIN = Path(sys.executable).parent / "protoc-gen-connectrpc"


class Stubs:
    """The generated modules: messages (`pb`) and Connect clients (`connect`)."""

    def __init__(self, pb: ModuleType, connect: ModuleType) -> None:
        self.pb = pb
        self.connect = connect


@pytest.fixture(scope="session")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stubs]:
    out = tmp_path_factory.mktemp("connect_stubs")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--descriptor_set_in={LIBRARY_SET}",
            f"--python_out={out}",
            f"--plugin=protoc-gen-connectrpc={PLUGIN}",
            f"--connectrpc_out={out}",
            "--connectrpc_opt=protobuf=google",
            "library/v1/library.proto",
        ],
        check=True,
    )
    sys.path.insert(0, str(out))
    try:
        yield Stubs(
            importlib.import_module("library.v1.library_pb2"),
            importlib.import_module("library.v1.library_connect"),
        )
    finally:
        sys.path.remove(str(out))


@pytest.fixture(scope="session")
def connect_url(backend: example_backend.RunningBackend) -> Iterator[str]:
    """The local server in front of the example backend, with the default settings."""
    handler = make_handler(
        runtime_for(descriptors=(str(LIBRARY_SET),), backends=(("*", backend.target),))
    )
    server = LocalServer(("127.0.0.1", 0), handler, verbose=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url
    server.shutdown()
    server.server_close()
