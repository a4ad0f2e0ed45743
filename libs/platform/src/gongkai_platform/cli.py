"""`gongkai`: the operators' command line — run the platform locally, create topics, and the
auditors' tools (verify the log, replay the reporting projections)."""

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
        _print_tokens(stack.workdir)
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


def _print_tokens(workdir: Path) -> None:
    """Tokens for each demo role (12 h), also written to <workdir>/tokens.env."""
    from gongkai_contracts.envelope import Role

    from .auth import ROLE_LABELS
    from .devstack.demo import demo_users

    lines = []
    typer.echo("\nTokens (12 h; in /docs press Authorize, or curl -H 'Authorization: Bearer …'):")
    for user in demo_users():
        token = user.token()
        where = f" of {user.bureau_id}" if user.bureau_id else ""
        label = ROLE_LABELS[Role(user.role)]
        typer.echo(f"  {user.user_id} — {user.role} {label} {user.name}{where}:\n    {token}")
        lines.append(f"{user.user_id.upper().replace('-', '_')}_TOKEN={token}")
    (workdir / "tokens.env").write_text("\n".join(lines) + "\n")
    typer.echo(f"  (all in {workdir / 'tokens.env'}; more with `uv run gongkai token --help`)")


@app.command()
def token(
    user: Annotated[str, typer.Option(help="The user id the token names.")],
    role: Annotated[
        str, typer.Option(help="clerk, reviewer, bureau_head, central_office or auditor.")
    ],
    bureau: Annotated[
        str | None, typer.Option(help="The user's bureau (clerk, reviewer, bureau_head).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Display name on signed records, e.g. '办公室 李四'.")
    ] = None,
    hours: Annotated[float, typer.Option(min=0.01, max=24 * 30)] = 12,
) -> None:
    """Issue a signed bearer token for local use (key: GONGKAI_JWT_SECRET, else the dev key)."""
    from datetime import timedelta

    from .auth import TokenError, issue_token

    try:
        typer.echo(issue_token(user, role, bureau, name=name, ttl=timedelta(hours=hours)))
    except (TokenError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None


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


@app.command()
def verify(
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")],
    topic: Annotated[
        list[str] | None,
        typer.Option(help="A topic to check (repeatable); default every gongkai.*.events."),
    ] = None,
    show_warnings: Annotated[bool, typer.Option(help="List the warnings too.")] = True,
) -> None:
    """Walk the event topics from offset 0 and check every hash chain (per bureau), stream
    version continuity and schema validity; exit 1 if anything is wrong."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from .audit.verify import verify as run_verify

    console = Console()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("verifying events", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = asyncio.run(run_verify(bootstrap, topic or None, progress=progress))
    shown = report.problems if show_warnings else report.errors
    if shown:
        table = Table(title="problems", show_lines=False)
        for column in ("", "where", "bureau", "stream", "what", "expected", "found"):
            table.add_column(column, overflow="fold")
        for p in shown:
            table.add_row(
                "[red]error[/]" if p.severity == "error" else "[yellow]warning[/]",
                p.where(),
                p.bureau_id or "",
                p.stream_id or "",
                f"{p.kind.value}: {p.message}",
                p.expected or "",
                p.found or "",
            )
        console.print(table)
    first = report.errors[0] if report.errors else None
    console.print(
        f"{report.events} events in {len(report.topics)} topics, {report.bureaus} bureaus, "
        f"{report.streams} streams checked in {report.seconds:.1f}s: "
        f"{len(report.errors)} errors, {len(report.warnings)} warnings"
    )
    if first is not None:
        console.print(f"[red]first broken event:[/] {first.where()} {first.kind.value}")
        raise typer.Exit(1)
    console.print("[green]the log verifies[/]")


@app.command()
def replay(
    database_url: Annotated[str, typer.Option(envvar="REPORTING_DATABASE_URL")],
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")],
    switch: Annotated[
        bool, typer.Option(help="Switch the live projections to the rebuilt tables.")
    ] = True,
) -> None:
    """Rebuild every reporting projection from offset 0 into a fresh schema while the live one
    serves, print the digest of every annual report, then switch (unless --no-switch)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from reporting_service.replay import ReplayError
    from reporting_service.replay import replay as run_replay

    console = Console()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("replaying events", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = asyncio.run(
                run_replay(database_url, bootstrap, switch=switch, progress=progress)
            )
        except ReplayError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
    table = Table(title="annual report digests (SHA-256 of the figures, RFC 8785)")
    for column in ("bureau", "year", "digest"):
        table.add_column(column, no_wrap=True)
    for d in result.digests:
        table.add_row(d.bureau_id, str(d.year), d.digest)
    console.print(table)
    for d in result.digests:  # one plain line per report, for scripts
        typer.echo(f"digest {d.bureau_id} {d.year} {d.digest}")
    what = (
        f"switched; the previous tables are kept in schema {result.retired_schema}"
        if result.switched
        else "not switched (--no-switch); the rebuilt schema was dropped"
    )
    typer.echo(
        f"replayed {result.events} events into {result.schema} in {result.seconds:.1f}s: "
        f"{len(result.digests)} annual reports; {what}"
    )


def main() -> None:
    app()
