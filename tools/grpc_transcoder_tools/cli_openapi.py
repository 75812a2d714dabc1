"""The `openapi` command: the OpenAPI 3.1 document of descriptor sets, on standard output.

    grpc-transcoder openapi SOURCE... [--service-config LOCATION]... [--title TEXT]
                                      [--version TEXT] [--server URL]... [--[no-]default-routes]
                                      [--[no-]default-routes-for-annotated] [-o FILE]

SOURCE is what TRANSCODER_DESCRIPTORS takes: a set file, a directory, an s3:// or a grpc://
location; --service-config what TRANSCODER_SERVICE_CONFIG takes (default: that setting). The
document describes the routes as a function with the same TRANSCODER_* settings serves them
(JSON names, enums, error format, base path); descriptions come from the proto comments when
the sets were built with source info (`descriptors build` keeps it). Exit status: 0, or 2 when
the descriptors cannot be loaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from grpc_transcoder import settings as settings_module
from grpc_transcoder.errors import ConfigurationError
from grpc_transcoder.reserved.openapi import comments as openapi_comments
from grpc_transcoder.reserved.openapi import document as openapi
from grpc_transcoder.routing import table as routing
from grpc_transcoder_tools.cli_loading import (
    add_service_config_option,
    read_registry,
)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "openapi",
        help="print the OpenAPI 3.1 document of descriptor sets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="a descriptor set location")
    parser.add_argument("--title", default="", help="info.title (default: '<packages> API')")
    parser.add_argument(
        "--version", default="", help="info.version (default: the descriptor set version)"
    )
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="URL",
        help="a server URL, repeatable (default: TRANSCODER_BASE_PATH)",
    )
    parser.add_argument(
        "--default-routes",
        action=argparse.BooleanOptionalAction,
        help="include POST /<package>.<Service>/<Method> (default: TRANSCODER_DEFAULT_ROUTES)",
    )
    parser.add_argument(
        "--default-routes-for-annotated",
        action=argparse.BooleanOptionalAction,
        help="the default route for annotated methods too"
        " (default: TRANSCODER_DEFAULT_ROUTES_FOR_ANNOTATED)",
    )
    add_service_config_option(parser)
    parser.add_argument("-o", "--output", type=Path, help="write to FILE instead of stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        document = build_document(
            args.sources,
            title=args.title,
            version=args.version,
            servers=args.server,
            default_routes=args.default_routes,
            default_routes_for_annotated=args.default_routes_for_annotated,
            service_config=args.service_config,
        )
    except ConfigurationError as exc:
        print(f"grpc-transcoder openapi: {exc}", file=sys.stderr)
        return 2
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    if args.output is None:
        sys.stdout.write(text.decode())
    else:
        args.output.write_bytes(text)
    return 0


def build_document(
    sources: Sequence[str],
    *,
    title: str = "",
    version: str = "",
    servers: Sequence[str] = (),
    default_routes: bool | None = None,
    default_routes_for_annotated: bool | None = None,
    service_config: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The document of `sources`; options left empty or None take the TRANSCODER_* settings.

    Raises ConfigurationError when the settings or the descriptor sets cannot be loaded.
    """
    configured = settings_module.load()
    registry, blobs = read_registry(sources, service_config, configured)
    routes, _problems = routing.routes_for(
        registry,
        default_routes=_either(default_routes, configured.default_routes),
        default_routes_for_annotated=_either(
            default_routes_for_annotated, configured.default_routes_for_annotated
        ),
    )
    options = openapi.options_for(configured, version=version or registry.version)
    options = dataclasses.replace(options, title=title, servers=tuple(servers) or options.servers)
    comments = openapi_comments.comments(blob.data for blob in blobs)
    return openapi.document(routes, comments=comments, options=options)


def _either(option: bool | None, setting: bool) -> bool:
    return setting if option is None else option
