"""Field mask fill: the update mask of a PATCH request, from the JSON keys of its body field.

Input: the request message, its plan and the body field's JSON object. Output: the FieldMask
paths (proto names; nested keys dotted; maps, lists and well-known types are leaves).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from grpc_transcoder.decoding.field_plans import MessagePlan, PlanCache, Shape


def fill(
    request: Message, plan: MessagePlan, *, body_field: str, body: Any, plans: PlanCache
) -> None:
    """Set the request's FieldMask field from the keys of `body`, unless the client set it.

    Applies when the request has a FieldMask field (`update_mask`, or its only FieldMask) and
    `body_field` is a singular message sent as a JSON object, as grpc-gateway does for PATCH.
    """
    mask_name = plan.field_mask
    target = plan.field(body_field)
    if not mask_name or target is None or target.shape is not Shape.MESSAGE:
        return
    if not isinstance(body, dict):
        return
    mask = getattr(request, mask_name)
    if not mask.paths:
        mask.paths.extend(paths_of(body, plans.plan(target.message_type), plans))


def paths_of(body: dict[str, Any], plan: MessagePlan, plans: PlanCache) -> list[str]:
    """Every leaf path of a JSON object, in body order and without repeats.

    A key naming a singular message whose value is a non-empty object is descended into;
    anything else (scalars, lists, maps, Struct and other well-known types, null, `{}`) is a
    leaf. Keys that name no field are left out: the codec has rejected them already, or the
    settings say to ignore them.
    """
    found: dict[str, None] = {}
    _collect(body, plan, plans, "", found)
    return list(found)


def _collect(
    body: dict[str, Any], plan: MessagePlan, plans: PlanCache, prefix: str, found: dict[str, None]
) -> None:
    for key, value in body.items():
        field = plan.field(key)
        if field is None:
            continue
        path = prefix + field.name
        if field.shape is Shape.MESSAGE and isinstance(value, dict) and value:
            _collect(value, plans.plan(field.message_type), plans, path + ".", found)
        else:
            found[path] = None
