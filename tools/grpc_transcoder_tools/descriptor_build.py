"""Compile .proto files into a FileDescriptorSet with every import included.

Uses grpcio-tools' bundled protoc. The well-known types (from grpcio-tools) and the
google/api and google/rpc files (from googleapis-common-protos) are on the include path, so
users never fetch them. Source info (comments) is kept for the files named on the command
line and dropped from imports, which keeps the set small and the cold start fast.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2

# The files the Lambda package carries so that sets without them still resolve.
STANDARD_FILES = (
    "google/protobuf/any.proto",
    "google/protobuf/api.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/type.proto",
    "google/protobuf/wrappers.proto",
    "google/api/annotations.proto",
    "google/api/http.proto",
    "google/api/httpbody.proto",
    "google/rpc/code.proto",
    "google/rpc/error_details.proto",
    "google/rpc/status.proto",
)


class BuildError(Exception):
    """protoc rejected the input; the message holds protoc's diagnostics."""


def standard_include_paths() -> list[str]:
    """The directories holding the well-known types and the google/api and google/rpc files."""
    import google.api  # type: ignore[import-untyped]  # located: it ships the .proto files

    tools_proto = resources.files("grpc_tools") / "_proto"
    api_root = Path(next(iter(google.api.__path__))).parent.parent
    return [str(tools_proto), str(api_root)]


def build(
    protos: Sequence[str],
    *,
    include: Sequence[str] = (),
    source_info: bool = True,
) -> bytes:
    """The serialized FileDescriptorSet of `protos` and their imports.

    Raises BuildError with protoc's messages when compilation fails.
    """
    from grpc_tools import protoc

    includes = [*include, *standard_include_paths()]
    names = [_relative(p, include) for p in protos]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.binpb"
        args = ["protoc", *(f"-I{d}" for d in includes), "--include_imports"]
        if source_info:
            args.append("--include_source_info")
        args += [f"--descriptor_set_out={out}", *names]
        with _captured_stderr() as errors:
            status = protoc.main(args)
            diagnostics = errors.read_text(errors="replace").strip()
        if status != 0:
            raise BuildError(diagnostics or f"protoc exited with {status}")
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    for file in fds.file:
        if file.name not in names:
            file.ClearField("source_code_info")
    return fds.SerializeToString(deterministic=True)


def _relative(proto: str, include: Sequence[str]) -> str:
    """The import name of `proto`: its path relative to the first include directory holding it."""
    path = Path(proto)
    for directory in include:
        try:
            return path.resolve().relative_to(Path(directory).resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


class _captured_stderr:
    """Capture file descriptor 2 (protoc writes diagnostics there, not to sys.stderr)."""

    def __enter__(self) -> Path:
        self._file = tempfile.NamedTemporaryFile(delete=False)
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return Path(self._file.name)

    def __exit__(self, *exc: object) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.close()
        # The caller reads the file inside the with block; it is removed here.
        Path(self._file.name).unlink(missing_ok=True)
