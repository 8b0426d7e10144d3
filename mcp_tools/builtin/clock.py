"""The `datetime` group: the current time, time-zone conversion and date differences."""

from __future__ import annotations

import calendar
import difflib
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

EXAMPLE_ZONES = "UTC, Asia/Seoul, Europe/London, America/New_York, Asia/Tokyo"
ZONE_HELP = f"IANA time zone name, e.g. {EXAMPLE_ZONES}."
SHOWN_FORMAT = "%Y-%m-%d %H:%M:%S"


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=1)
def _zone_index() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Zones by lower-case name, and by lower-case city ('seoul' -> ['Asia/Seoul'])."""
    by_name = {zone.casefold(): zone for zone in _zone_names()}
    by_city: dict[str, list[str]] = {}
    for zone in sorted(_zone_names()):
        by_city.setdefault(zone.rsplit("/", 1)[-1].casefold(), []).append(zone)
    return by_name, by_city


def find_zone(name: str) -> ZoneInfo:
    """The zone called `name`, forgiving case, spaces and a bare city ('seoul')."""
    wanted = name.strip().replace(" ", "_").casefold()
    if wanted in ("utc", "z", "gmt"):
        return ZoneInfo("UTC")
    by_name, by_city = _zone_index()
    if wanted in by_name:
        return ZoneInfo(by_name[wanted])
    if len(by_city.get(wanted, [])) == 1:
        return ZoneInfo(by_city[wanted][0])
    raise ToolException(f"unknown time zone '{name}'.{_zone_hint(name.strip(), _zone_names())}")


def _zone_hint(name: str, zones: frozenset[str]) -> str:
    if not zones:
        return " No time zone database is installed on the server; only UTC works."
    examples = f" Use IANA names such as {EXAMPLE_ZONES}."
    if name.isupper() and len(name) <= 5:
        return " Abbreviations like KST or PST are not zone names." + examples
    by_key = {zone.casefold(): zone for zone in zones}
    by_key.update({zone.rsplit("/", 1)[-1].casefold(): zone for zone in zones})
    wanted = name.replace(" ", "_").casefold()
    close = difflib.get_close_matches(wanted, by_key, n=3, cutoff=0.75)
    suggestions = list(dict.fromkeys(by_key[key] for key in close))
    return (f" Did you mean {', '.join(suggestions)}?" if suggestions else "") + examples


def describe(moment: datetime) -> str:
    """'2025-06-01 21:05:33 (Asia/Seoul, UTC+09:00, Sunday)'."""
    offset = moment.strftime("%z")
    return (
        f"{moment.strftime(SHOWN_FORMAT)} ({moment.tzinfo}, UTC{offset[:3]}:{offset[3:]}, "
        f"{moment.strftime('%A')})"
    )


class CurrentTimeArgs(BaseModel):
    timezone: str = Field("UTC", description=ZONE_HELP + " Default UTC.")


class ConvertTimeArgs(BaseModel):
    time: str = Field(
        description="The time to convert: 'YYYY-MM-DD HH:MM', 'HH:MM' (today) or 'now'."
    )
    source_timezone: str = Field(description="Zone the time is in. " + ZONE_HELP)
    target_timezone: str = Field(description="Zone to convert to. " + ZONE_HELP)


class DateDiffArgs(BaseModel):
    start: str = Field(description="First date as YYYY-MM-DD, or 'today'.")
    end: str = Field("today", description="Second date as YYYY-MM-DD, or 'today' (default).")
    timezone: str = Field("UTC", description="Zone that decides what 'today' is. " + ZONE_HELP)


def current_time(timezone: str = "UTC") -> str:
    now = datetime.now(find_zone(timezone))
    return f"{describe(now)}\nISO 8601: {now.isoformat(timespec='seconds')}"


def convert_time(time: str, source_timezone: str, target_timezone: str) -> str:
    source, target = find_zone(source_timezone), find_zone(target_timezone)
    moment = _parse_time(time, source)
    note = ""
    round_trip = moment.astimezone(UTC).astimezone(moment.tzinfo)
    if round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None):
        note = "\nNote: that local time does not exist there (clocks skip it for daylight saving)."
    return f"{describe(moment)} = {describe(moment.astimezone(target))}{note}"


def _parse_time(text: str, zone: ZoneInfo) -> datetime:
    text = text.strip()
    if text.casefold() == "now":
        return datetime.now(zone)
    try:
        if len(text) <= 8 and ":" in text:
            clock = datetime.strptime(text, "%H:%M:%S" if text.count(":") == 2 else "%H:%M")
            today = datetime.now(zone).date()
            return datetime.combine(today, clock.time(), tzinfo=zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ToolException(
            f"could not read the time '{text}'; use 'YYYY-MM-DD HH:MM', 'HH:MM' or 'now'"
        ) from None
    # An explicit offset in the text ("...+09:00") wins over source_timezone.
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def date_diff(start: str, end: str = "today", timezone: str = "UTC") -> str:
    today = datetime.now(find_zone(timezone)).date()
    first, second = _parse_date(start, today), _parse_date(end, today)
    days = (second - first).days
    low, high = sorted((first, second))
    years, months, rest = _calendar_span(low, high)
    direction = " (the end is before the start)" if days < 0 else ""
    return (
        f"From {first.isoformat()} ({first:%A}) to {second.isoformat()} ({second:%A}): "
        f"{_count(days, 'day')}{direction}\n"
        f"= {_count(abs(days) // 7, 'week')} and {_count(abs(days) % 7, 'day')}\n"
        f"= {_count(years, 'year')}, {_count(months, 'month')} and {_count(rest, 'day')}"
    )


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if abs(number) == 1 else f"{number} {unit}s"


def _parse_date(text: str, today: date) -> date:
    if text.strip().casefold() == "today":
        return today
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        message = f"could not read the date '{text}'; use YYYY-MM-DD or 'today'"
        raise ToolException(message) from None


def _calendar_span(low: date, high: date) -> tuple[int, int, int]:
    """Whole years, months and leftover days from `low` to `high` (low <= high)."""
    months = (high.year - low.year) * 12 + high.month - low.month
    if high.day < low.day:
        months -= 1
    year, month = divmod(low.month - 1 + months, 12)
    year += low.year
    anchor = date(year, month + 1, min(low.day, calendar.monthrange(year, month + 1)[1]))
    return months // 12, months % 12, (high - anchor).days


def clock_tools() -> list[BaseTool]:
    """current_time, convert_time and date_diff."""
    return [
        StructuredTool.from_function(
            func=current_time,
            description="Get the current date, time and weekday in a time zone. Use it "
            "whenever the answer depends on today's date or the time now.",
            args_schema=CurrentTimeArgs,
        ),
        StructuredTool.from_function(
            func=convert_time,
            description="Convert a date/time from one time zone to another (daylight saving "
            "included). Returns both local times with their UTC offsets and weekdays.",
            args_schema=ConvertTimeArgs,
        ),
        StructuredTool.from_function(
            func=date_diff,
            description="Count the days between two dates (or until/since today). Returns the "
            "difference in days, in weeks and days, and in years, months and days.",
            args_schema=DateDiffArgs,
        ),
    ]
