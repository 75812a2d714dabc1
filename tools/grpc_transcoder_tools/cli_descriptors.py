"""The `descriptors` commands: build a set from .proto files, fetch one by reflection, check one.

    grpc-transcoder descriptors build PROTO... [-I DIR]... -o OUT [--no-source-info]
    grpc-transcoder descriptors fetch --reflection HOST:PORT -o OUT [--service NAME]... [--tls]
    grpc-transcoder descriptors check [SOURCE...] [--service-config LOCATION]...

`check` loads the sets exactly as the Lambda function does (the TRANSCODER_* settings of the
environment apply; SOURCE defaults to TRANSCODER_DESCRIPTORS, --service-config to
TRANSCODER_SERVICE_CONFIG) and prints the services, methods
and routes found and every problem. Exit status 0 when all is well, 1 on any problem.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

from grpc_transcoder import settings
from grpc_transcoder.errors import ConfigurationError, DescriptorError
from grpc_transcoder.loading import runtime
from grpc_transcoder.loading.registry import MethodInfo, RuleOrigin
from grpc_transcoder.loading.state import State
from grpc_transcoder.routing.table import Route
from grpc_transcoder_tools.cli_loading import add_service_config_option

OK, PROBLEMS = 0, 1


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "descriptors",
        help="build, fetch or check descriptor sets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(required=True, metavar="ACTION")
    _add_build(actions)
    _add_fetch(actions)
    _add_check(actions)


def _add_build(actions: Any) -> None:
    build = actions.add_parser(
        "build",
        help="compile .proto files into a set with every import included",
        description="Compile .proto files with grpcio-tools' protoc. The well-known types and "
        "google/api/{annotations,http,httpbody}.proto are always on the include path.",
    )
    build.add_argument("protos", nargs="+", metavar="PROTO")
    build.add_argument(
        "-I",
        "--include",
        action="append",
        default=[],
        metavar="DIR",
        help="an import root (repeatable; default: the current directory)",
    )
    build.add_argument("-o", "--output", required=True, type=Path, metavar="OUT")
    build.add_argument(
        "--no-source-info",
        dest="source_info",
        action="store_false",
        help="drop comments (smaller set; the OpenAPI document loses its descriptions)",
    )
    build.set_defaults(run=run_build)


def _add_fetch(actions: Any) -> None:
    fetch = actions.add_parser(
        "fetch",
        help="pull a set from a running server by gRPC server reflection (v1 or v1alpha)",
    )
    fetch.add_argument("--reflection", required=True, metavar="HOST:PORT")
    fetch.add_argument("-o", "--output", required=True, type=Path, metavar="OUT")
    fetch.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="NAME",
        help="fetch only this service (repeatable; default: all but grpc.* services)",
    )
    fetch.add_argument("--tls", action="store_true", help="connect with TLS (system roots)")
    fetch.add_argument("--timeout", type=float, default=10.0, help="seconds (default: 10)")
    fetch.set_defaults(run=run_fetch)


def _add_check(actions: Any) -> None:
    check = actions.add_parser(
        "check",
        help="load sets as the Lambda function would; print what they define and every problem",
    )
    check.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="a file, directory or s3:// location (default: TRANSCODER_DESCRIPTORS)",
    )
    add_service_config_option(check)
    check.set_defaults(run=run_check)


# -- build ----------------------------------------------------------------------------------


def run_build(args: argparse.Namespace) -> int:
    from grpc_transcoder_tools.descriptor_build import BuildError, build

    try:
        data = build(args.protos, include=args.include or ["."], source_info=args.source_info)
    except BuildError as exc:
        print(f"grpc-transcoder descriptors build: protoc failed:\n{exc}", file=sys.stderr)
        return PROBLEMS
    args.output.write_bytes(data)
    print(f"wrote {args.output}: {_summary(descriptor_pb2.FileDescriptorSet.FromString(data))}")
    return OK


def _summary(fds: descriptor_pb2.FileDescriptorSet) -> str:
    services = [s for f in fds.file for s in f.service]
    methods = sum(len(s.method) for s in services)
    return f"{len(fds.file)} files, {len(services)} services, {methods} methods"


# -- fetch ----------------------------------------------------------------------------------


def run_fetch(args: argparse.Namespace) -> int:
    from grpc_transcoder.loading.reflection import ReflectionError, fetch

    try:
        fetched = fetch(args.reflection, services=args.service, timeout=args.timeout, tls=args.tls)
    except ReflectionError as exc:
        print(f"grpc-transcoder descriptors fetch: {exc}", file=sys.stderr)
        return PROBLEMS
    args.output.write_bytes(fetched.descriptor_set.SerializeToString(deterministic=True))
    print(
        f"wrote {args.output}: {_summary(fetched.descriptor_set)} "
        f"(server reflection {fetched.version} of {args.reflection})"
    )
    if fetched.skipped:
        print(f"left out (use --service to include): {', '.join(fetched.skipped)}")
    return OK


# -- check ----------------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    lines, status = check(args.sources, args.service_config)
    print("\n".join(lines))
    return status


def check(
    sources: Sequence[str], service_config: Sequence[str] | None = None
) -> tuple[list[str], int]:
    """The report lines and the exit status for `sources`, loaded as the Lambda loads them."""
    overrides: dict[str, tuple[str, ...]] = {}
    if sources:
        overrides["descriptors"] = tuple(sources)
    if service_config is not None:
        overrides["service_config"] = tuple(service_config)
    try:
        configured = settings.load(None, **overrides)
        loaded = runtime.build(configured)
    except DescriptorError as exc:
        return _problem_lines("cannot load the descriptor sets", exc.problems), PROBLEMS
    except ConfigurationError as exc:
        return _problem_lines("invalid settings", [str(exc)]), PROBLEMS
    lines = [*_header(loaded), *_services(loaded)]
    lines += [f"note: {note}" for note in loaded.registry.notes]
    if loaded.warnings:
        return lines + _problem_lines("problems", loaded.warnings), PROBLEMS
    return [*lines, "no problems"], OK


def _problem_lines(title: str, problems: Sequence[str]) -> list[str]:
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return [f"{title} ({count}):", *(f"  {problem}" for problem in problems)]


def _header(loaded: State) -> list[str]:
    registry = loaded.registry
    return [
        f"descriptors {registry.version}: {registry.set_files} files"
        f" (+{len(registry.files) - registry.set_files} bundled), "
        f"{len(registry.services)} services, {len(registry.methods)} methods, "
        f"{len(loaded.routes.routes)} routes",
    ]


def _services(loaded: State) -> list[str]:
    routes: dict[str, list[str]] = {}
    for route in loaded.routes.routes:
        routes.setdefault(route.method.grpc_path, []).append(_route(route))
    lines: list[str] = []
    for service in loaded.registry.services:
        lines += ["", service]
        for method in loaded.registry.methods.values():
            if method.service == service:
                lines.append(f"  {method.name}{_streaming(method)}")
                lines += [f"    {route}" for route in routes.get(method.grpc_path, ["(no route)"])]
    return [*lines, ""]


def _route(route: Route) -> str:
    if route.origin is RuleOrigin.DEFAULT:
        return f"{route} (default route)"
    extras = ["service config"] * (route.origin is RuleOrigin.SERVICE_CONFIG)
    extras += [f"body: {route.body}"] * bool(route.body)
    extras += [f"response_body: {route.response_body}"] * bool(route.response_body)
    return f"{route} ({', '.join(extras)})" if extras else str(route)


def _streaming(method: MethodInfo) -> str:
    kinds = [
        kind
        for kind, streams in (
            ("client", method.client_streaming),
            ("server", method.server_streaming),
        )
        if streams
    ]
    return f" ({' and '.join(kinds)} streaming)" if kinds else ""
