"""Today's date where the bureaus work."""

from datetime import date, datetime
from zoneinfo import ZoneInfo


def today_in_china() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()
