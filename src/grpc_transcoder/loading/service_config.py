"""Service configs: HTTP rules from gRPC API Configuration YAML instead of annotations.

Input: the documents of TRANSCODER_SERVICE_CONFIG (`type: google.api.Service`,
`config_version: 3`, `http: rules:`), as grpc-gateway's `--grpc_api_configuration` and ESPv2
read them. Output: the flattened `HttpRule`s of each method they name, keyed by gRPC path, and
a problem line for each rule that cannot be used.

Each rule is a `google.api.HttpRule` in its JSON mapping (proto names such as `response_body`
and `additional_bindings` accepted), parsed by protobuf's own JSON parser into the HttpRule
message of the bundled google/api/http.proto. A rule replaces every annotation rule of its
method; of several rules for one method the last one wins, as google.api.Http says. A document
that is not such a config at all is a load problem (it never replaces a working one); a single
wrong rule is reported and left out while the rest serves. PyYAML is imported only here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grpc_transcoder.loading import merge as descriptor_merge
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.registry import HttpRule, RuleOrigin, flatten

SERVICE_TYPE = "google.api.Service"
CONFIG_VERSION = 3
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
MAX_ERROR_CHARS = 300


def rules(
    documents: Sequence[Blob], problems: list[str]
) -> tuple[dict[str, tuple[HttpRule, ...]], list[str]]:
    """The rules of every document by gRPC path (`/package.Service/Method`), and the rule
    problems. Appends to `problems` for each document that cannot be read as a service config.
    """
    found: dict[str, tuple[HttpRule, ...]] = {}
    rule_problems: list[str] = []
    for document in documents:
        entries = _http_rules(document, problems)
        for index, entry in enumerate(entries):
            where = f"{document.uri}: http.rules[{index}]"
            parsed = _rule(entry, where, rule_problems)
            if parsed is None:
                continue
            path, bindings = parsed
            if path in found:
                rule_problems.append(
                    f"{where}: {_selector_of(path)} has an earlier rule; the last one wins"
                )
            found[path] = bindings
    return found, rule_problems


def _http_rules(document: Blob, problems: list[str]) -> list[Any]:
    """The `http.rules` entries of one document; [] (with a problem) when it has none."""
    config = _load_yaml(document, problems)
    if config is None:
        return []
    kind = config.get("type")
    if kind != SERVICE_TYPE:
        problems.append(f"{document.uri}: expected `type: {SERVICE_TYPE}`, got {_show(kind)}")
        return []
    version = config.get("config_version", CONFIG_VERSION)
    if version != CONFIG_VERSION:
        problems.append(
            f"{document.uri}: expected `config_version: {CONFIG_VERSION}`, got {_show(version)}"
        )
        return []
    http = config.get("http")
    entries = http.get("rules") if isinstance(http, Mapping) else None
    if not isinstance(entries, list) or not entries:
        problems.append(f"{document.uri}: no `http: rules:` list (nothing to route)")
        return []
    return entries


def _load_yaml(document: Blob, problems: list[str]) -> Mapping[str, Any] | None:
    import yaml  # noqa: PLC0415 - see the module docstring

    if len(document.data) > MAX_DOCUMENT_BYTES:
        problems.append(f"{document.uri}: larger than {MAX_DOCUMENT_BYTES:,} bytes")
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser where it is built
    try:
        config = yaml.load(document.data, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        problems.append(f"{document.uri}: not valid YAML: {_clip(str(exc))}")
        return None
    if not isinstance(config, Mapping):
        problems.append(f"{document.uri}: expected a YAML mapping (a google.api.Service)")
        return None
    return config


def _rule(
    entry: Any, where: str, rule_problems: list[str]
) -> tuple[str, tuple[HttpRule, ...]] | None:
    """(gRPC path, the rule and its additional bindings), or None with a problem."""
    from google.protobuf import json_format  # noqa: PLC0415 - only with a service config

    if not isinstance(entry, Mapping):
        rule_problems.append(f"{where}: expected a mapping with a selector and a pattern")
        return None
    message = _rule_class()()
    try:
        json_format.ParseDict(dict(entry), message)
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as exc:
        rule_problems.append(f"{where}: {_clip(str(exc))}")
        return None
    selector = message.selector
    where = f"{where} ({selector or 'no selector'})"
    path = _grpc_path(selector)
    if path is None:
        rule_problems.append(f"{where}: the selector must name one method, package.Service.Method")
        return None
    bindings: list[HttpRule] = []
    for rule in (message, *message.additional_bindings):
        if rule is not message and len(rule.additional_bindings):
            rule_problems.append(f"{where}: additional_bindings inside one are ignored")
        flat = flatten(rule, RuleOrigin.SERVICE_CONFIG)
        if flat is None:
            rule_problems.append(f"{where}: a binding has no get, put, post, delete, patch, custom")
            return None
        bindings.append(flat)
    return path, tuple(bindings)


def _rule_class() -> Any:
    """google.api.HttpRule from the bundled descriptors (the pool that parses annotations)."""
    from google.protobuf import message_factory  # noqa: PLC0415 - see the module docstring

    return message_factory.GetMessageClass(descriptor_merge.http_extension().message_type)


def _grpc_path(selector: str) -> str | None:
    service, _, method = selector.rpartition(".")
    if not service or not method or "*" in selector or " " in selector:
        return None
    return f"/{service}/{method}"


def _selector_of(path: str) -> str:
    return path[1:].replace("/", ".")


def _show(value: Any) -> str:
    return "nothing" if value is None else _clip(repr(value))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."
