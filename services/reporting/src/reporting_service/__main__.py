"""`python -m reporting_service api`: the reporting process (projections and HTTP API)."""

import sys

from gongkai_platform.runtime import serve_http

from .config import Settings


def main(argv: list[str]) -> None:
    settings = Settings()
    match argv:
        case ["api"]:
            from .entrypoints.http import create_app

            serve_http(create_app(settings), settings)
        case _:
            sys.exit("usage: python -m reporting_service api")


if __name__ == "__main__":
    main(sys.argv[1:])
