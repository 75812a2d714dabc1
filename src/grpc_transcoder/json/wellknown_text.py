"""The string forms of Timestamp, Duration and FieldMask, in both directions.

Input: seconds and nanos, field mask paths, or JSON strings. Output: the canonical strings, or
the values to store. Same results and the same accepted inputs as protobuf's well_known_types:
the common forms take a fast path, and anything unusual goes through protobuf's own methods.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from google.protobuf.message import Message

TIMESTAMP_MIN = -62135596800  # 0001-01-01T00:00:00Z
TIMESTAMP_MAX = 253402300799  # 9999-12-31T23:59:59Z
DURATION_MAX = 315576000000  # 10,000 years
NANOS = 1_000_000_000
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_DAY = 86400


def format_timestamp(message: Any) -> str:
    """`1972-01-01T10:00:20.021Z`: Z-normalized with 0, 3, 6 or 9 fractional digits.

    Raises ValueError outside 0001-01-01..9999-12-31 or for nanos outside [0, 1e9).
    """
    seconds: int = message.seconds
    nanos: int = message.nanos
    # A known minute is a valid one: the range starts and ends on whole minutes.
    text = _MINUTES.get(seconds // 60) or _minute(seconds, nanos)
    if not nanos:
        return text + _SECONDS_Z[seconds % 60]
    if not 0 < nanos < NANOS:
        raise _timestamp_error(seconds, nanos)
    if nanos % 1_000_000 == 0:
        return text + _SECONDS[seconds % 60] + _MILLIS_Z[nanos // 1_000_000]
    return text + _SECONDS[seconds % 60] + _fraction(nanos) + "Z"


# The texts of recent minutes ("2024-05-01T10:20:"), and of every minute and second of a day:
# formatting is the hot part.
_MINUTES: dict[int, str] = {}
_MAX_MINUTES = 2048
_CLOCK = tuple(f"{minute // 60:02d}:{minute % 60:02d}:" for minute in range(1440))
_SECONDS = tuple(f"{second:02d}" for second in range(60))
_SECONDS_Z = tuple(f"{second:02d}Z" for second in range(60))


def _minute(seconds: int, nanos: int) -> str:
    if not TIMESTAMP_MIN <= seconds <= TIMESTAMP_MAX:
        raise _timestamp_error(seconds, nanos)
    days, rest = divmod(seconds, _DAY)
    date = datetime.date.fromordinal(_EPOCH_ORDINAL + days)
    text = f"{date.year:04d}-{date.month:02d}-{date.day:02d}T{_CLOCK[rest // 60]}"
    if len(_MINUTES) >= _MAX_MINUTES:
        _MINUTES.clear()
    _MINUTES[seconds // 60] = text
    return text


def _timestamp_error(seconds: int, nanos: int) -> ValueError:
    return ValueError(f"Timestamp out of range: seconds {seconds}, nanos {nanos}")


def format_duration(message: Any) -> str:
    """`"1.010s"`, `"-3.100s"`: 0, 3, 6 or 9 fractional digits. ValueError when invalid."""
    seconds: int = message.seconds
    nanos: int = message.nanos
    if not -DURATION_MAX <= seconds <= DURATION_MAX or not -NANOS < nanos < NANOS:
        raise ValueError(f"Duration out of range: seconds {seconds}, nanos {nanos}")
    if not nanos:
        return f"{seconds}s"
    if nanos > 0 and seconds >= 0:
        return f"{seconds}{_fraction(nanos)}s"
    if nanos < 0 and seconds <= 0:
        return f"-{-seconds}{_fraction(-nanos)}s"
    raise ValueError(f"Duration sign mismatch: seconds {seconds}, nanos {nanos}")


def _fraction(nanos: int) -> str:
    """`.021`, `.000021`, `.000000021`: the digits of 0 < nanos < 1e9, in groups of three."""
    if nanos % 1_000_000 == 0:
        return _MILLIS[nanos // 1_000_000]
    if nanos % 1_000 == 0:
        return ".%06d" % (nanos // 1_000)  # noqa: UP031
    return ".%09d" % nanos  # noqa: UP031


_MILLIS = tuple(".%03d" % millis for millis in range(1000))  # noqa: UP031
_MILLIS_Z = tuple(f"{millis}Z" for millis in _MILLIS)


def parse_timestamp(value: str) -> tuple[int, int] | None:
    """(seconds, nanos) of a canonical RFC 3339 timestamp; None for anything else.

    The caller hands None cases to protobuf's parser, which accepts a few more spellings
    (`2020-1-2T3:4:5Z`) and words its own errors. Raises ValueError for a well-formed but
    impossible date or a result outside the Timestamp range, as protobuf does.
    """
    # Table lookups validate the digits: a miss means an unusual form, not an error.
    days = _DAY_NUMBERS.get(value[:10])
    if days is None:
        days = _day_number(value[:10])
    minute = _MINUTE_OF_DAY.get(value[10:17])
    second = _SECOND_OF_MINUTE.get(value[17:19])
    if days is None or minute is None or second is None:
        return None
    seconds = days * _DAY + minute * 60 + second
    rest = value[19:]
    if rest == "Z":
        nanos = 0
    else:
        match = _FRACTION_AND_OFFSET.fullmatch(rest)
        if match is None:
            return None
        fraction, sign, offset_hours, offset_minutes = match.groups()
        if sign is not None:
            offset = (int(offset_hours) * 60 + int(offset_minutes)) * 60
            seconds += -offset if sign == "+" else offset
        # protobuf reads the fraction through a float; keep its rounding exactly.
        nanos = round(float("0." + fraction) * 1e9) if fraction else 0
    if not TIMESTAMP_MIN <= seconds <= TIMESTAMP_MAX or not 0 <= nanos < NANOS:
        raise ValueError(f"{value!r} is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z")
    return seconds, nanos


_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_FRACTION_AND_OFFSET = re.compile(r"(?:\.([0-9]{0,9}))?(?:Z|([+-])([0-9]{2}):([0-9]{2}))")
_DAY_NUMBERS: dict[str, int] = {}
_MAX_DATES = 4096
_MINUTE_OF_DAY = {f"T{m // 60:02d}:{m % 60:02d}:": m for m in range(1440)}
_SECOND_OF_MINUTE = {f"{second:02d}": second for second in range(60)}


def _day_number(text: str) -> int | None:
    """Days since 1970-01-01 of `YYYY-MM-DD`; None if not that shape; ValueError if no date."""
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    days = datetime.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    if len(_DAY_NUMBERS) >= _MAX_DATES:
        _DAY_NUMBERS.clear()
    _DAY_NUMBERS[text] = days
    return days


def parse_duration(value: Any) -> tuple[int, int]:
    """(seconds, nanos) of a duration string, by protobuf's rules. ValueError when invalid."""
    if not isinstance(value, str) or not value.endswith("s"):
        raise ValueError("not a string ending in 's'")
    point = value.find(".")
    try:
        if point == -1:
            seconds, nanos = int(value[:-1]), 0
        else:
            seconds = int(value[:point])
            fraction = ("-0" if value[0] == "-" else "0") + value[point:-1]
            nanos = round(float(fraction) * 1e9)
    except OverflowError:
        raise ValueError("fraction out of range") from None
    if not -DURATION_MAX <= seconds <= DURATION_MAX:
        raise ValueError("outside -315576000000s..315576000000s")
    if not -NANOS < nanos < NANOS:
        raise ValueError("the fraction rounds up to a whole second")
    if (nanos < 0 < seconds) or (seconds < 0 < nanos):
        raise ValueError("the seconds and the fraction have different signs")
    return seconds, nanos


_SNAKE_CASE_PATH = re.compile(r"[a-z0-9.]*(?:_[a-z][a-z0-9.]*)*")
_LOWER_CAMEL_PATHS = re.compile(r"[A-Za-z0-9.,]*")
_UPPER = re.compile("[A-Z]")


def format_field_mask(message: Any) -> str:
    """`"title,author.displayName"`: the paths in lowerCamelCase, comma-separated.

    Paths protobuf cannot convert (uppercase, `a__b`, a trailing `_`) make it raise ValueError.
    """
    try:  # paths repeat (a few field names per API): convert each one once
        return ",".join(map(_camel_of, message.paths))
    except KeyError:
        pass
    paths: list[str] = list(message.paths)
    if not all(_SNAKE_CASE_PATH.fullmatch(path) for path in paths):
        return str(message.ToJsonString())
    if len(_CAMEL_PATHS) + len(paths) > _MAX_PATHS:
        _CAMEL_PATHS.clear()
    for path in paths:
        _CAMEL_PATHS[path] = _camel(path)
    return ",".join(map(_camel_of, paths))


_CAMEL_PATHS: dict[str, str] = {}  # snake_case path -> lowerCamelCase, for valid paths only
_camel_of = _CAMEL_PATHS.__getitem__
_MAX_PATHS = 4096


def _camel(path: str) -> str:
    first, *rest = path.split("_")
    return first + "".join(part[0].upper() + part[1:] for part in rest)


def parse_field_mask(message: Message, value: Any) -> None:
    """Replace the paths of `message` with those of a JSON field mask string (ValueError)."""
    if isinstance(value, str) and _LOWER_CAMEL_PATHS.fullmatch(value):
        message.Clear()
        if value:
            paths = (_UPPER.sub(_snake, path) for path in value.split(","))
            message.paths.extend(paths)  # type: ignore[attr-defined]
        return
    message.FromJsonString(value)  # type: ignore[attr-defined]


def _snake(match: re.Match[str]) -> str:
    return "_" + match.group().lower()
