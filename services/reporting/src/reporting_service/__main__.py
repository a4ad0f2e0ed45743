"""`python -m reporting_service api|relay`: the API with the projections, or the relay that
publishes reporting's own events (sign-offs) to gongkai.reporting.events."""

import asyncio
import sys
from pathlib import Path

from gongkai_platform.runtime import run_relay, serve_http

from .config import Settings


def main(argv: list[str]) -> None:
    settings = Settings()
    match argv:
        case ["api"]:
            from .entrypoints.http import create_app

            serve_http(create_app(settings), settings)
        case ["relay"]:
            asyncio.run(run_relay(settings, "reporting", Path(__file__).parent / "migrations"))
        case _:
            sys.exit("usage: python -m reporting_service api|relay")


if __name__ == "__main__":
    main(sys.argv[1:])
