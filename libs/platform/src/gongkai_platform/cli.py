"""`gongkai`: the operators' command line — run the platform locally, create topics."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Gongkai (公开) operator commands.", no_args_is_help=True)


@app.command()
def up(
    workdir: Annotated[Path, typer.Option(help="Where data and logs are kept.")] = Path(
        ".devstack"
    ),
    demo: Annotated[bool, typer.Option(help="Load demo bureaus and requests.")] = True,
    partitions: Annotated[int, typer.Option(min=1, max=64)] = 3,
) -> None:
    """Start PostgreSQL, Kafka, the topics and the four services; Ctrl-C stops everything."""
    from .devstack.demo import load_demo, load_workflow_demo
    from .devstack.stack import LocalStack

    started = time.monotonic()
    stack = LocalStack(
        workdir,
        admin_dsn=os.environ.get("DATABASE_URL"),
        bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
        partitions=partitions,
        log=True,
    )
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    try:
        stack.start_infrastructure()
        stack.start_all()
        if demo:
            typer.echo("loading demo data through the HTTP APIs …")
            loaded = load_demo(
                stack.url("catalogue"), stack.url("requests"), stack.url("reporting")
            )
            typer.echo(
                f"demo: {sum(loaded.values())} requests for "
                f"{len({b for b, _ in loaded})} bureaus, all visible in reporting"
            )
            flow = load_workflow_demo(
                stack.url("catalogue"), stack.url("requests"), stack.url("review")
            )
            typer.echo(
                f"demo: items published after 初审/复审/终审 as {', '.join(flow.index_numbers)}; "
                f"request {flow.replied_request} answered after review"
            )
        typer.echo(f"\nGongkai is up after {time.monotonic() - started:.1f}s. Look at:")
        for service in ("catalogue", "requests", "review", "reporting"):
            typer.echo(f"  {service:<10} {stack.url(service)}/docs")
        typer.echo(
            f"  counts     {stack.url('reporting')}/bureaus/cz-hrss/requests-received"
            f"?year={time.localtime().tm_year}"
        )
        year = time.localtime().tm_year
        public = f"{stack.url('catalogue')}/public/bureaus/cz-hrss/catalogue?format=html"
        report = f"{stack.url('reporting')}/bureaus/cz-hrss/annual-reports/{year}?format=html"
        typer.echo(f"  public     {public}")
        typer.echo(f"  report     {report}")
        typer.echo(f"  logs       {stack.workdir / 'logs'}")
        typer.echo("Ctrl-C stops everything.")
        while not stop:
            for process in stack.processes.values():
                if process.proc is not None and not process.running:
                    typer.echo(f"{process.name} exited; see {process.log_path}", err=True)
                    stop = True
            time.sleep(0.5)
    finally:
        typer.echo("stopping …")
        stack.close()


@app.command()
def topics(
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")],
    partitions: Annotated[int, typer.Option(min=1, max=64)] = 3,
) -> None:
    """Create every event topic and its DLQ (retention forever); existing ones are kept."""
    from gongkai_contracts.topics import all_topics

    from .devstack.stack import ensure_topics

    asyncio.run(ensure_topics(bootstrap, partitions))
    for topic in all_topics():
        typer.echo(topic)


def main() -> None:
    app()
