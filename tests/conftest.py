"""Session fixtures live in tests/plugins; this file only registers them."""

pytest_plugins = ["tests.plugins.kafka", "tests.plugins.postgres", "tests.plugins.stack"]
