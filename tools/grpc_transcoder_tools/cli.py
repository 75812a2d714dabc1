"""The `grpc-transcoder` command: run locally, and work with descriptor sets.

grpc-transcoder serve [--descriptors PATH] [--backend TARGET] [--port 8080]
grpc-transcoder example-backend [--port 50051]
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from grpc_transcoder_tools import cli_descriptors, cli_openapi, cli_routes, example_backend

REPO_DESCRIPTORS = Path(__file__).resolve().parents[2] / "descriptors"
# The checkout's directory of sets, or the example set an installed wheel carries.
DEFAULT_DESCRIPTORS = (
    REPO_DESCRIPTORS if REPO_DESCRIPTORS.is_dir() else example_backend.DEFAULT_DESCRIPTORS
)
FAILED = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; an OS-level failure ends with one line on stderr, never a traceback."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        status: int = args.run(args)
    except BrokenPipeError:
        # `grpc-transcoder routes ... | head`: the reader has gone, which is not an error.
        # Point stdout at /dev/null so that the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"grpc-transcoder: {_describe(exc)}", file=sys.stderr)
        return FAILED
    return status


def _describe(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "the port is already in use (choose another with --port)"
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _version() -> str:
    try:
        return metadata.version("grpc-transcoder")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grpc-transcoder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    # Each command module registers its sub-command; add new ones to this tuple.
    for register in (
        _add_serve,
        _add_example_backend,
        cli_routes.register,
        cli_descriptors.register,
        cli_openapi.register,
    ):
        register(commands)
    return parser


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="serve HTTP on localhost through the real Lambda handler"
    )
    serve.add_argument(
        "--descriptors",
        default=str(DEFAULT_DESCRIPTORS),
        help="TRANSCODER_DESCRIPTORS (default: %(default)s)",
    )
    serve.add_argument(
        "--backend",
        default="",
        help="TRANSCODER_BACKENDS; when omitted, the example backend is started",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="the Lambda timeout in seconds (default: %(default)s)",
    )
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    serve.set_defaults(run=_serve)


def _add_example_backend(commands: Any) -> None:
    backend = commands.add_parser("example-backend", help="run the example library gRPC backend")
    backend.add_argument("--host", default="127.0.0.1")
    backend.add_argument("--port", type=int, default=50051)
    backend.set_defaults(run=_example_backend)


def _serve(args: argparse.Namespace) -> int:
    from grpc_transcoder_tools.local_server import LocalServer

    running = None
    backend = args.backend
    if not backend:
        running = example_backend.start("127.0.0.1:0")
        backend = running.target
    os.environ["TRANSCODER_DESCRIPTORS"] = args.descriptors
    os.environ["TRANSCODER_BACKENDS"] = backend
    from grpc_transcoder.lambda_handler import handler  # cold start, as Lambda runs it

    server = LocalServer(
        (args.host, args.port), handler, timeout_ms=int(args.timeout * 1000), verbose=not args.quiet
    )
    _print_banner(server.url, backend, example=running is not None)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if running is not None:
            running.stop()
    return 0


def _print_banner(url: str, backend: str, *, example: bool) -> None:
    note = ", the example backend" if example else ""
    lines = [f"grpc-transcoder serving on {url} (backend: {backend}{note})"]
    if example:
        lines += [
            "Try:",
            f"  curl {url}/v1/shelves",
            f"  curl {url}/v1/shelves/fiction/books/dune",
            f'  curl -X POST {url}/v1/shelves -d \'{{"theme": "Poetry"}}\'',
            f"  curl -X POST {url}/library.v1.LibraryService/GetLibraryInfo -d '{{}}'",
            f"  curl -X POST {url}/library.v1.LibraryService/GetShelf"
            " -H 'Connect-Protocol-Version: 1' -H 'Content-Type: application/json'"
            ' -d \'{"name": "shelves/fiction"}\'',
            f"  grpc-transcoder descriptors fetch --reflection {backend} -o fetched.binpb",
        ]
    print("\n".join(lines), flush=True)


def _example_backend(args: argparse.Namespace) -> int:
    try:
        running = example_backend.start(f"{args.host}:{args.port}")
    except RuntimeError:  # grpcio: "Failed to bind to address ..."
        print(
            f"grpc-transcoder: cannot listen on {args.host}:{args.port}: the port is already"
            " in use (choose another with --port)",
            file=sys.stderr,
        )
        return FAILED
    print(f"example backend listening on {args.host}:{running.port}", flush=True)
    try:
        running.server.wait_for_termination()
    except KeyboardInterrupt:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
