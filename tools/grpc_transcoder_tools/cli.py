"""The `grpc-transcoder` command: run locally, and work with descriptor sets.

grpc-transcoder serve [--descriptors PATH] [--backend TARGET] [--port 8080]
grpc-transcoder example-backend [--port 50051]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grpc_transcoder_tools import cli_descriptors, cli_openapi, cli_routes, example_backend

REPO_DESCRIPTORS = Path(__file__).resolve().parents[2] / "descriptors"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    status: int = args.run(args)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grpc-transcoder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
        default=str(REPO_DESCRIPTORS),
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
        ]
    print("\n".join(lines), flush=True)


def _example_backend(args: argparse.Namespace) -> int:
    running = example_backend.start(f"{args.host}:{args.port}")
    print(f"example backend listening on {args.host}:{running.port}", flush=True)
    try:
        running.server.wait_for_termination()
    except KeyboardInterrupt:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
