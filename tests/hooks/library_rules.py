"""The README's worked example: check a field, copy an authorizer claim, redact a response."""

from __future__ import annotations

from typing import Any

from grpc_transcoder.hooks import Code, HookCall, HookError, Hooks

hooks = Hooks()


@hooks.request("library.v1.LibraryService/CreateShelf")
def check_and_stamp_shelf(request: Any, call: HookCall) -> None:
    """Refuse shelves without a theme; record who created the shelf."""
    if not request.shelf.theme.strip():
        raise HookError(
            Code.INVALID_ARGUMENT,
            "a shelf needs a theme",
            violations={"shelf.theme": "must not be empty"},
        )
    owner = call.claim("jwt.claims.sub")
    if owner is None:
        raise HookError(Code.UNAUTHENTICATED, "sign in to create shelves")
    request.shelf.labels["owner"] = str(owner)  # a field the backend stores
    call.add_metadata("x-shelf-owner", str(owner))  # and metadata it can read


@hooks.response("library.v1.LibraryService/GetBook", "library.v1.LibraryService/StreamBooks")
def redact_sales(book: Any, call: HookCall) -> None:
    """Sales figures are for staff only."""
    if "staff" not in str(call.claim("jwt.claims.scope") or "").split():
        book.ClearField("copies_sold")
