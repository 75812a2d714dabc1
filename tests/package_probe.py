"""Run inside a built package: `python -I -S package_probe.py PACKAGE EVENT_FILE S3_URI RESULT`.

Started by tests/test_package.py with an interpreter of the runtime's version and nothing but the
package and the standard library on sys.path. Imports the Lambda handler (its cold start reads
TRANSCODER_* from the environment), answers one event, reads one S3 descriptor set through the
packaged botocore, and writes what it saw as JSON to RESULT.
"""

from __future__ import annotations

import _frozen_importlib_external
import importlib
import json
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

COMPILED: list[str] = []


def _record_compilations() -> None:
    """Note every module compiled from source: a valid .pyc is loaded without compiling."""
    loader = _frozen_importlib_external.SourceLoader
    original = loader.source_to_code

    def source_to_code(self: Any, data: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        COMPILED.append(str(path))
        return original(self, data, path, *args, **kwargs)

    loader.source_to_code = source_to_code  # type: ignore[method-assign]


def _allowed(path: str, package: str) -> bool:
    """In the package, or in the standard library proper (not its site-packages)."""
    stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
    if path == __file__:
        return True
    return path.startswith(package) or (path.startswith(stdlib) and "-packages" not in path)


class Context:
    """The attributes of a Lambda context the handler reads."""

    aws_request_id = "package-probe"
    function_name = "grpc-transcoder"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def main(package: str, event_file: str, s3_uri: str, result_file: str) -> None:
    sys.path.insert(0, package)
    _record_compilations()
    started = time.perf_counter()
    handler_module = importlib.import_module("grpc_transcoder.lambda_handler")
    import_ms = (time.perf_counter() - started) * 1000
    response = handler_module.handler(json.loads(Path(event_file).read_text()), Context())
    blobs = importlib.import_module("grpc_transcoder.loading.sources").read(s3_uri)
    files = [str(getattr(module, "__file__", "") or "") for module in list(sys.modules.values())]
    result = {
        "response": response,
        "import_ms": import_ms,
        "compiled": [path for path in COMPILED if path.startswith(package)],
        "elsewhere": sorted(f for f in files if f and not _allowed(f, package)),
        "s3_bytes": sum(len(blob.data) for blob in blobs),
    }
    Path(result_file).write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:5])
