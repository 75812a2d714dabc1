"""The `routes` command: the effective HTTP route table of descriptor sets, with its problems.

    grpc-transcoder routes [SOURCE...] [--service-config LOCATION]... [--[no-]default-routes]
                                     [--[no-]default-routes-for-annotated] [--json]

SOURCE is what TRANSCODER_DESCRIPTORS takes (default: that setting): a set file, a directory,
an s3:// or a grpc:// location; --service-config what TRANSCODER_SERVICE_CONFIG takes (default:
that setting). Prints each route
(HTTP method, template, body, response_body, gRPC method and the rule that produced it), the
templates that overlap, and every rule that cannot be routed. Exit status: 0 when every rule
routes, 1 when some rule has a problem, 2 when the descriptors cannot be loaded.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from grpc_transcoder import settings
from grpc_transcoder.errors import ConfigurationError
from grpc_transcoder.loading.registry import RuleOrigin
from grpc_transcoder.routing import table as routing
from grpc_transcoder.routing.table import Route, RouteProblem, RouteTable
from grpc_transcoder_tools.cli_loading import (
    add_service_config_option,
    read_registry,
)
from grpc_transcoder_tools.route_overlaps import Overlap, overlaps

COLUMNS = ("HTTP", "TEMPLATE", "BODY", "RESPONSE_BODY", "GRPC METHOD", "ORIGIN")


@dataclass(frozen=True, slots=True)
class Report:
    """What the command prints: the table, its overlaps and the rules left out."""

    routes: tuple[Route, ...]
    overlaps: tuple[Overlap, ...]
    problems: tuple[RouteProblem, ...]
    methods: int  # gRPC methods in the sets
    rule_problems: tuple[str, ...] = ()  # service-config rules left out


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "routes",
        help="print the HTTP routes of descriptor sets and the rules that cannot be routed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="a descriptor set location (default: TRANSCODER_DESCRIPTORS)",
    )
    add_service_config_option(parser)
    parser.add_argument(
        "--default-routes",
        action=argparse.BooleanOptionalAction,
        help="POST /<package>.<Service>/<Method> for every method"
        " (default: TRANSCODER_DEFAULT_ROUTES)",
    )
    parser.add_argument(
        "--default-routes-for-annotated",
        action=argparse.BooleanOptionalAction,
        help="the default route for annotated methods too"
        " (default: TRANSCODER_DEFAULT_ROUTES_FOR_ANNOTATED)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        report = build_report(
            args.sources,
            default_routes=args.default_routes,
            default_routes_for_annotated=args.default_routes_for_annotated,
            service_config=args.service_config,
        )
    except ConfigurationError as exc:
        print(f"grpc-transcoder routes: {exc}", file=sys.stderr)
        return 2
    print(render_json(report) if args.json else render_text(report))
    return 1 if report.problems or report.rule_problems else 0


def build_report(
    sources: Sequence[str],
    *,
    default_routes: bool | None = None,
    default_routes_for_annotated: bool | None = None,
    service_config: Sequence[str] | None = None,
) -> Report:
    """The report for `sources`; an option left at None takes its TRANSCODER_* setting.

    Raises ConfigurationError when the settings, the descriptor sets or the service configs
    cannot be loaded.
    """
    configured = settings.load()
    registry, _ = read_registry(sources or configured.descriptors, service_config, configured)
    routes, problems = routing.routes_for(
        registry,
        default_routes=_either(default_routes, configured.default_routes),
        default_routes_for_annotated=_either(
            default_routes_for_annotated, configured.default_routes_for_annotated
        ),
    )
    table = RouteTable(routes)
    ordered = tuple(sorted(routes, key=_listing_order))
    return Report(
        ordered,
        tuple(overlaps(table)),
        tuple(problems),
        len(registry.methods),
        registry.rule_problems,
    )


def _listing_order(route: Route) -> tuple[bool, str, str]:
    # Annotated routes by template, then the default routes (one per method, less telling).
    return (route.origin is RuleOrigin.DEFAULT, route.template.text, route.http_method)


def _either(option: bool | None, setting: bool) -> bool:
    return setting if option is None else option


def render_text(report: Report) -> str:
    rows = [COLUMNS, *(_row(route) for route in report.routes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines += ["", f"{len(report.routes)} routes for {report.methods} gRPC methods."]
    lines += _overlap_lines(report.overlaps)
    lines += _problem_lines(report.problems)
    if report.rule_problems:
        lines += ["", f"Service config rules left out ({len(report.rule_problems)}):"]
        lines += [f"  {problem}" for problem in report.rule_problems]
    return "\n".join(lines)


def _row(route: Route) -> tuple[str, ...]:
    return (
        route.http_method,
        route.template.text,
        route.body or "-",
        route.response_body or "-",
        route.method.full_name,
        route.origin.value,
    )


def _overlap_lines(found: Sequence[Overlap]) -> list[str]:
    if not found:
        return ["", "No templates overlap."]
    lines = [
        "",
        "Overlapping templates (literal > * > **: where both match, the first one answers):",
    ]
    lines += [f"  {o.first} before {o.second}, e.g. {o.example}" for o in found]
    return lines


def _problem_lines(problems: Sequence[RouteProblem]) -> list[str]:
    if not problems:
        return ["", "No problems: every rule is routed."]
    return ["", f"Problems ({len(problems)} rules not routed):", *(f"  {p}" for p in problems)]


def render_json(report: Report) -> str:
    document = {
        "routes": [
            {
                key: None if cell == "-" else cell
                for key, cell in zip(_KEYS, _row(route), strict=True)
            }
            for route in report.routes
        ],
        "overlaps": [
            {"first": str(o.first), "second": str(o.second), "example": o.example}
            for o in report.overlaps
        ],
        "problems": [
            {
                "grpc_method": p.method,
                "http_method": p.http_method,
                "template": p.template,
                "origin": p.origin.value,
                "reason": p.reason,
            }
            for p in report.problems
        ],
        "service_config_problems": list(report.rule_problems),
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()


_KEYS = ("http_method", "template", "body", "response_body", "grpc_method", "origin")
