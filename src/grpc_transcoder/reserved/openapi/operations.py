"""OpenAPI operations: one route as an operation (parameters, request body, responses).

Input: a `Route` with the OpenAPI names of its path parameters (`paths`), and `Schemas`.
Output: the operation object. Path variables are path parameters (one per `*` or `**`); the
fields neither the path nor the body set are query parameters, named by their dotted field
paths; `body` and `response_body` pick the request and response schemas.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from grpc_transcoder.exchange import HTTP_BODY
from grpc_transcoder.reserved.openapi.paths import Slot, binding, slots
from grpc_transcoder.reserved.openapi.schemas import Schema, Schemas, is_well_known
from grpc_transcoder.routing.table import Route
from grpc_transcoder.routing.templates import PathTemplate

ERROR_RESPONSE = {"$ref": "#/components/responses/Error"}
JSON = "application/json"
# Well-known types whose query form is their JSON text.
JSON_TEXT_IN_QUERY = (
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
)
NOT_IN_QUERY = ("google.protobuf.Any", "google.protobuf.Empty")

FieldPath = tuple[str, ...]


def operation(route: Route, names: Sequence[str], schemas: Schemas) -> dict[str, Any]:
    """The operation of `route`; `names` are its path parameters' names, one per slot."""
    method = route.method
    bound = [variable.field_path for variable in route.template.variables]
    inputs = schemas.requests
    parameters = path_parameters(route.template, names, method.input, inputs)
    if route.body != "*":
        skip = [*bound, tuple(route.body.split("."))] if route.body else bound
        parameters += query_parameters(method.input, skip, inputs)
    result: dict[str, Any] = {"parameters": parameters} if parameters else {}
    body = request_body(route, bound, inputs)
    if body is not None:
        result["requestBody"] = body
    result["responses"] = responses(route, schemas)
    return result


def path_parameters(
    template: PathTemplate, names: Sequence[str], message: Descriptor, schemas: Schemas
) -> list[dict[str, Any]]:
    """One parameter per slot (`paths.slots`): a plain `{field}` is typed as its field; a
    segment of a pattern is a string without `/`; a `**` may hold slashes."""
    parameters = []
    for slot, name in zip(slots(template), names, strict=True):
        field = _field_at(message, slot.variable.field_path)
        if slot.plain and field is not None:
            schema = schemas.value(field)
            if schema.get("type") == "string":
                schema["minLength"] = 1  # a segment is never empty
        elif slot.deep:
            schema = {"type": "string"}
        else:
            schema = {"type": "string", "pattern": "^[^/]+$"}
        parameter = {"name": name, "in": "path", "required": True, "schema": schema}
        parameter["description"] = _slot_description(slot, template, names, field, schemas)
        parameters.append(parameter)
    return parameters


def _slot_description(
    slot: Slot,
    template: PathTemplate,
    names: Sequence[str],
    field: FieldDescriptor | None,
    schemas: Schemas,
) -> str:
    path = ".".join(slot.variable.field_path)
    comment = schemas.comments.get(field.full_name, "") if field is not None else ""
    if slot.plain:
        text = f"Sets `{path}`."
    else:
        spelled = binding(template, slot.variable, names)
        text = f"Part of `{path}`, which this route sets to `{spelled}`."
        if slot.deep:
            text += " May span path segments: send its slashes as `/`, not `%2F`."
    return f"{comment}\n\n{text}" if comment else text


def query_parameters(
    message: Descriptor, skip: Sequence[FieldPath], schemas: Schemas
) -> list[dict[str, Any]]:
    """A parameter for every field the path and body do not set, nested as dotted names."""
    return list(_QueryWalk(skip, schemas).parameters(message, (), (), (message.full_name,)))


class _QueryWalk:
    def __init__(self, skip: Sequence[FieldPath], schemas: Schemas) -> None:
        self._skip = set(skip)
        self._schemas = schemas

    def parameters(
        self, message: Descriptor, path: FieldPath, names: FieldPath, seen: FieldPath
    ) -> Iterator[dict[str, Any]]:
        """Parameters under `path`; `seen` are the message types on the way (no recursion)."""
        for field in message.fields:
            field_path = (*path, field.name)
            if field_path in self._skip:
                continue
            field_names = (*names, self._schemas.property_name(field))
            nested = field.message_type
            if nested is None or nested.GetOptions().map_entry or is_well_known(nested):
                parameter = _query_parameter(field, ".".join(field_names), self._schemas)
                if parameter is not None:
                    yield parameter
            elif not field.is_repeated and nested.full_name not in seen:
                # Only singular messages can be traversed.
                seen_here = (*seen, nested.full_name)
                yield from self.parameters(nested, field_path, field_names, seen_here)


def _query_parameter(field: FieldDescriptor, name: str, schemas: Schemas) -> dict[str, Any] | None:
    nested = field.message_type
    parameter: dict[str, Any] = {"name": name, "in": "query"}
    if nested is not None and nested.GetOptions().map_entry:
        # `labels[key]=value`: OpenAPI's deepObject style.
        parameter.update(style="deepObject", explode=True, schema=schemas.field(field))
    elif nested is not None and nested.full_name in NOT_IN_QUERY:
        return None
    elif nested is not None and nested.full_name in JSON_TEXT_IN_QUERY:
        schema: Schema = {"type": "string", "contentMediaType": JSON}
        parameter["schema"] = {"type": "array", "items": schema} if field.is_repeated else schema
    else:
        parameter["schema"] = schemas.field(field)
    description = parameter["schema"].pop("description", "")
    if description:
        parameter["description"] = description
    return parameter


def message_of(field: FieldDescriptor) -> Descriptor:
    """The message type of a message field (routing checked that it is one)."""
    if field.message_type is None:
        raise ValueError(f"{field.full_name} is not a message field")
    return field.message_type


def request_body(
    route: Route, bound: Sequence[FieldPath], schemas: Schemas
) -> dict[str, Any] | None:
    """The body a route reads: the message without path-bound fields, or one field of it."""
    if not route.body:
        return None
    message = route.method.input
    if route.body == "*":
        raw = message.full_name == HTTP_BODY
        schema = None if raw else schemas.message_object(message, without=bound)
    else:
        body_path = tuple(route.body.split("."))
        holder = message
        for name in body_path[:-1]:  # a nested body (`update.note`): through its messages
            holder = message_of(holder.fields_by_name[name])
        field = holder.fields_by_name[body_path[-1]]
        depth = len(body_path)
        under = [path[depth:] for path in bound if path[:depth] == body_path and len(path) > depth]
        raw = field.message_type is not None and field.message_type.full_name == HTTP_BODY
        schema = None if raw else schemas.field(field, without=under)
    if raw:
        binary = {"schema": {"type": "string", "format": "binary"}}
        return {"description": "The raw body, of any content type.", "content": {"*/*": binary}}
    if route.method.client_streaming:
        schema = {"type": "array", "items": schema, "description": "The stream of messages."}
    return {"content": {JSON: {"schema": schema}}}


def responses(route: Route, schemas: Schemas) -> dict[str, Any]:
    success: dict[str, Any] = {
        "description": "The response message in its proto3 JSON form.",
        "content": _response_content(route, schemas),
    }
    other = dict(success)
    other["description"] = (
        "Another success status, chosen by the backend through `x-http-code` metadata."
    )
    return {"200": success, "2XX": other, "default": ERROR_RESPONSE}


def _response_content(route: Route, schemas: Schemas) -> dict[str, Any]:
    output = route.method.output
    field = output.fields_by_name[route.response_body] if route.response_body else None
    message = field.message_type if field is not None else output
    if message is not None and message.full_name == HTTP_BODY:
        return {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    if field is None:
        schema = schemas.message(output)
    elif field.message_type is not None and not field.is_repeated:
        # An unset message field has no JSON value: the body is `null`.
        schema = {"anyOf": [schemas.field(field), {"type": "null"}]}
    else:
        schema = schemas.field(field)
    if not route.method.server_streaming:
        return {JSON: {"schema": schema}}
    stream_error = {"$ref": "#/components/schemas/StreamError"}
    item = {"anyOf": [schema, stream_error]}
    return {
        JSON: {"schema": {"type": "array", "items": item}},
        "application/x-ndjson": {"schema": item},
        "text/event-stream": {"schema": {"type": "string"}},
    }


def _field_at(message: Descriptor | None, path: FieldPath) -> FieldDescriptor | None:
    field = None
    for name in path:
        if message is None:
            return None
        field = message.fields_by_name.get(name)
        if field is None:
            return None
        message = field.message_type
    return field
