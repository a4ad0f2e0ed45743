# Gongkai: `make demo` runs the platform with demo data, `make test` runs every test.
# Both install what they need first (uv, the locked Python environment; the Kafka jars are
# fetched from Maven Central by the first broker start).

UV_VERSION := 0.13.8
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: bootstrap demo test lint prerequisites bench

prerequisites:
	@command -v java >/dev/null || { echo "Java 17+ is missing: check with 'java -version' (Debian: apt-get install openjdk-17-jre-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is missing: check with 'mvn -v' (Debian: apt-get install maven)"; exit 1; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || command -v pg_config >/dev/null || { echo "PostgreSQL server binaries are missing: check with 'ls /usr/lib/postgresql/*/bin/initdb' (Debian: apt-get install postgresql), or set DATABASE_URL"; exit 1; }

bootstrap: prerequisites
	@command -v uv >/dev/null || python3 -m pip install --user --quiet uv==$(UV_VERSION)
	uv sync --frozen

demo: bootstrap
	uv run gongkai up

lint: bootstrap
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy libs services tests

test: lint
	uv run pytest

# Every benchmark (bench/README.md): ~1 h on an idle 2-core machine; `make bench QUICK=1`: minutes.
bench: bootstrap
	uv run python bench/run.py $(if $(QUICK),--quick)
