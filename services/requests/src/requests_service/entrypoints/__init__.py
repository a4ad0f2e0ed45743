"""HTTP and process entrypoints."""
