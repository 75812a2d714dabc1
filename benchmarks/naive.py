"""The naive transcoder: what a user would write in an afternoon. A benchmark baseline, never shipped.

Mangum around a Starlette app with one route per `google.api.http` template, compiled to a
regular expression; protobuf's `json_format` both ways; a boto3 S3 client created at import, which
reads the descriptor sets named by TRANSCODER_DESCRIPTORS (`s3://bucket/key`, comma-separated) and
calls the one backend of TRANSCODER_BACKENDS. It serves the same routes from the same
descriptors and backend as the product, so the benchmarks can put their figures side by side.

No limits, no hostile-input care, no metadata rules, no retries: the point is the cost of the
obvious code, not its correctness.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import parse_qsl

import boto3
import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import Message
from mangum import Mangum
from starlette.applications import Starlette
from starlette.convertors import CONVERTOR_TYPES
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HTTP_RULE_FIELD = 72295728  # google.api.http
VERBS = ("get", "put", "post", "delete", "patch")
STATUS = {0: 200, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 12: 501, 14: 503, 16: 401}

s3 = boto3.client("s3")


def _load_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    seen: set[str] = set()
    for location in os.environ["TRANSCODER_DESCRIPTORS"].split(","):
        bucket, _, key = location.removeprefix("s3://").partition("/")
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        for file in descriptor_pb2.FileDescriptorSet.FromString(data).file:
            if file.name not in seen:
                seen.add(file.name)
                pool.Add(file)
    return pool


def _template_regex(template: str) -> str:
    """`/v1/{name=shelves/*}:verb` as a regular expression with one group per variable."""

    def variable(match: re.Match[str]) -> str:
        name, _, pattern = match.group(1).partition("=")
        inner = (pattern or "*").replace("**", "\0").replace("*", "[^/]+").replace("\0", ".+")
        return f"(?P<{name.replace('.', '__')}>{inner})"

    path, _, verb = template.partition(":")
    regex = re.sub(r"\{([^}]+)\}", variable, path)
    return "^" + regex + (re.escape(":" + verb) if verb else "") + "$"


def _rules(method: Any) -> list[tuple[str, str, str]]:
    """(HTTP method, template, body) of every rule of a method, read from its raw options."""
    options = descriptor_pb2.MethodOptions.FromString(method.GetOptions().SerializeToString())
    raw = options.SerializeToString()
    found: list[tuple[str, str, str]] = []
    rule_class = _http_rule_class()
    for value in _extension_values(raw, HTTP_RULE_FIELD):
        rule = rule_class.FromString(value)
        for rules in (rule, *rule.additional_bindings):
            for verb in VERBS:
                if getattr(rules, verb):
                    found.append((verb.upper(), getattr(rules, verb), rules.body))
    return found


def _extension_values(raw: bytes, number: int) -> list[bytes]:
    """The length-delimited values of field `number` in serialized bytes (a tiny wire reader)."""
    values, position = [], 0
    while position < len(raw):
        key, position = _varint(raw, position)
        field, wire = key >> 3, key & 7
        if wire == 2:
            length, position = _varint(raw, position)
            if field == number:
                values.append(raw[position : position + length])
            position += length
        elif wire == 0:
            _, position = _varint(raw, position)
        else:
            position += 8 if wire == 1 else 4
    return values


def _varint(raw: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = raw[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _http_rule_class() -> Any:
    from google.api import http_pb2  # type: ignore[import-untyped]

    return http_pb2.HttpRule


POOL = _load_pool()
CHANNEL = grpc.insecure_channel(os.environ["TRANSCODER_BACKENDS"])


def _endpoint(method: Any, body: str) -> Any:
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    call = CHANNEL.unary_unary(path)

    async def endpoint(request: Request) -> Response:
        message: Message = request_class()
        raw = await request.body()
        try:
            if body == "*" and raw:
                json_format.Parse(raw, message, descriptor_pool=POOL)
            elif body and raw:
                json_format.Parse(raw, getattr(message, body), descriptor_pool=POOL)
            values = {k.replace("__", "."): v for k, v in request.path_params.items()}
            values.update(parse_qsl(request.url.query))
            for name, value in values.items():
                target, field = message, name
                while "." in field:
                    head, _, field = field.partition(".")
                    target = getattr(target, head)
                json_format.ParseDict({field: value}, target, descriptor_pool=POOL)
        except json_format.ParseError as exc:
            return _error(3, str(exc))
        try:
            answer = call(message.SerializeToString(), timeout=25)
        except grpc.RpcError as exc:
            return _error(exc.code().value[0], exc.details() or "")
        out = json_format.MessageToJson(
            response_class.FromString(answer),
            always_print_fields_with_no_presence=True,
            indent=None,
            descriptor_pool=POOL,
        )
        return Response(out, media_type="application/json")

    return endpoint


def _error(code: int, message: str) -> Response:
    body = json.dumps({"code": code, "message": message, "details": []})
    return Response(body, status_code=STATUS.get(code, 500), media_type="application/json")


def _routes() -> list[Route]:
    routes = []
    for file_name in sorted({f.name for f in _files()}):
        file = POOL.FindFileByName(file_name)
        for service in file.services_by_name.values():
            for method in service.methods:
                for http_method, template, body in _rules(method):
                    route = Route("/", _endpoint(method, body), methods=[http_method])
                    route.path_regex = re.compile(_template_regex(template))
                    path = CONVERTOR_TYPES["path"]
                    route.param_convertors = dict.fromkeys(route.path_regex.groupindex, path)
                    routes.append(route)
                default = f"/{service.full_name}/{method.name}"
                routes.append(Route(default, _endpoint(method, "*"), methods=["POST"]))
    return routes


def _files() -> list[Any]:
    files: list[Any] = []
    for location in os.environ["TRANSCODER_DESCRIPTORS"].split(","):
        bucket, _, key = location.removeprefix("s3://").partition("/")
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        files.extend(descriptor_pb2.FileDescriptorSet.FromString(data).file)
    return files


app = Starlette(routes=_routes())
handler = Mangum(app, lifespan="off")
