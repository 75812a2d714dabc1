"""Service-config documents for tests and benchmarks: the example API without annotations,
and any registry's annotations written as gRPC API Configuration YAML."""

from __future__ import annotations

from typing import Any

import yaml
from google.protobuf import descriptor_pb2

from grpc_transcoder.loading.registry import Registry
from tests.conftest import LIBRARY_SET

PATTERNS = ("get", "put", "post", "delete", "patch")


def unannotated_set() -> bytes:
    """The example set with every method's options (google.api.http among them) removed."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(LIBRARY_SET.read_bytes())
    for file in fds.file:
        for service in file.service:
            for method in service.method:
                method.ClearField("options")
    return fds.SerializeToString(deterministic=True)


def config_of(rules: list[dict[str, Any]]) -> bytes:
    """A google.api.Service document holding `rules` as its `http: rules:`."""
    document = {
        "type": "google.api.Service",
        "config_version": 3,
        "name": "library.example.com",
        "http": {"rules": rules},
    }
    return yaml.safe_dump(document, sort_keys=False).encode()


def rules_of(registry: Registry) -> list[dict[str, Any]]:
    """Every annotation of `registry` as service-config rules (proto names, as users write)."""
    found: list[dict[str, Any]] = []
    for method in registry.methods.values():
        bindings = []
        for rule in method.rules:
            pattern = rule.method.lower()
            binding: dict[str, Any] = (
                {pattern: rule.template}
                if pattern in PATTERNS
                else {"custom": {"kind": rule.method, "path": rule.template}}
            )
            binding.update({"body": rule.body} if rule.body else {})
            binding.update({"response_body": rule.response_body} if rule.response_body else {})
            bindings.append(binding)
        if bindings:
            first, *extra = bindings
            entry = {"selector": f"{method.service}.{method.name}", **first}
            if extra:
                entry["additional_bindings"] = extra
            found.append(entry)
    return found
