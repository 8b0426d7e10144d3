"""current_time, convert_time and date_diff over IANA zones."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from langchain_core.tools import ToolException

from mcp_tools.builtin.clock import clock_tools

current_time, convert_time, date_diff = clock_tools()


async def test_current_time_in_a_zone_has_its_offset() -> None:
    result = await current_time.ainvoke({"timezone": "Asia/Seoul"})
    assert "Asia/Seoul" in result
    iso = re.search(r"ISO 8601: (\S+)", result).group(1)
    moment = datetime.fromisoformat(iso)
    assert moment.utcoffset() == timedelta(hours=9)
    assert abs(moment - datetime.now(UTC)) < timedelta(minutes=5)


async def test_current_time_defaults_to_utc() -> None:
    result = await current_time.ainvoke({})
    assert "UTC+00:00" in result


async def test_forgiving_zone_names() -> None:
    assert "Asia/Seoul" in await current_time.ainvoke({"timezone": "seoul"})
    assert "America/New_York" in await current_time.ainvoke({"timezone": "america/new york"})


@pytest.mark.parametrize("zone", ["Mars/Olympus", "KST", "../../etc/passwd", ""])
async def test_unknown_zone_lists_examples(zone: str) -> None:
    with pytest.raises(ToolException, match=r"unknown time zone.*Asia/Seoul.*America/New_York"):
        await current_time.ainvoke({"timezone": zone})


async def test_unknown_zone_suggests_a_close_name() -> None:
    with pytest.raises(ToolException, match="Did you mean Europe/London"):
        await current_time.ainvoke({"timezone": "Europe/Londn"})


async def test_convert_time_between_zones() -> None:
    result = await convert_time.ainvoke(
        {
            "time": "2025-01-15 12:00",
            "source_timezone": "Asia/Seoul",
            "target_timezone": "America/New_York",
        }
    )
    assert result.startswith("2025-01-15 12:00:00 (Asia/Seoul, UTC+09:00, Wednesday)")
    assert result.endswith("2025-01-14 22:00:00 (America/New_York, UTC-05:00, Tuesday)")


async def test_convert_time_applies_daylight_saving() -> None:
    summer = await convert_time.ainvoke(
        {"time": "2025-07-01 12:00", "source_timezone": "UTC", "target_timezone": "Europe/Berlin"}
    )
    assert "2025-07-01 14:00:00 (Europe/Berlin, UTC+02:00" in summer


async def test_convert_time_flags_a_skipped_local_time() -> None:
    result = await convert_time.ainvoke(
        {
            "time": "2025-03-09 02:30",
            "source_timezone": "America/New_York",
            "target_timezone": "UTC",
        }
    )
    assert "does not exist" in result


async def test_explicit_offset_wins_over_source_zone() -> None:
    result = await convert_time.ainvoke(
        {"time": "2025-01-15T12:00+09:00", "source_timezone": "UTC", "target_timezone": "UTC"}
    )
    assert result.endswith("2025-01-15 03:00:00 (UTC, UTC+00:00, Wednesday)")
    assert "does not exist" not in result


async def test_convert_time_rejects_unreadable_time() -> None:
    with pytest.raises(ToolException, match="YYYY-MM-DD HH:MM"):
        await convert_time.ainvoke(
            {"time": "half past two", "source_timezone": "UTC", "target_timezone": "UTC"}
        )


async def test_date_diff_counts_days_weeks_and_months() -> None:
    result = await date_diff.ainvoke({"start": "2024-01-01", "end": "2024-12-25"})
    assert ": 359 days" in result
    assert "51 weeks and 2 days" in result
    assert "0 years, 11 months and 24 days" in result


async def test_date_diff_backwards_is_negative() -> None:
    result = await date_diff.ainvoke({"start": "2025-03-01", "end": "2025-01-31"})
    assert ": -29 days (the end is before the start)" in result


async def test_date_diff_defaults_to_today() -> None:
    today = datetime.now(UTC).date()
    start = (today - timedelta(days=10)).isoformat()
    result = await date_diff.ainvoke({"start": start})
    assert re.search(r": (9|10|11) days", result)


async def test_date_diff_rejects_bad_dates() -> None:
    with pytest.raises(ToolException, match="YYYY-MM-DD"):
        await date_diff.ainvoke({"start": "next tuesday"})
