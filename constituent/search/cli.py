"""`flask search …`: drain the queue, run the indexer, rebuild and check the index."""

from __future__ import annotations

import signal
import time
from typing import Any

import click
from flask.cli import AppGroup

from constituent.search import backends, indexer
from constituent.search.store import IndexBusy, SearchUnavailable, current_flask_app

search_cli = AppGroup("search", help="The full-text search index.")


class ProgressBars:
    """One click progress bar per index being built or checked."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.bars: dict[str, Any] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        bar = self.bars.get(name)
        if bar is None:
            bar = click.progressbar(
                length=max(total, 1),
                label=f"{self.verb} {name:<12}",
                show_pos=True,
                show_percent=True,
                show_eta=True,
            )
            bar.__enter__()
            self.bars[name] = bar
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    def close(self) -> None:
        for bar in self.bars.values():
            if not bar.finished:
                bar.render_finish()


def _ensure_index() -> None:
    """Rebuild, with progress bars, an index that is missing, damaged or of an older schema."""
    bars = ProgressBars("Indexing")
    try:
        rebuilt = indexer.ensure_index(progress=bars)
    finally:
        bars.close()
    if rebuilt is not None:
        reason = rebuilt.reason
        if reason in ("missing", "damaged"):
            reason = "missing or damaged"
        click.echo(f"The index was {reason}: rebuilt it in {rebuilt.seconds:.1f}s.")


@search_cli.command("reindex")
@click.option(
    "--procs",
    type=click.IntRange(1, 16),
    default=None,
    help="Processes analysing text (default: the CPU count, at most 4).",
)
def reindex_command(procs: int | None) -> None:
    """Rebuild every index from the database and switch to it atomically.

    Searches keep working on the current index during the rebuild, and saves made meanwhile
    are carried over.
    """
    bars = ProgressBars("Indexing")
    app = current_flask_app()
    try:
        backend = backends.current(app)
        if isinstance(backend, backends.WhooshBackend):
            said = backend.reindex(app, progress=bars, procs=procs)
        else:
            said = backend.reindex(app, progress=bars)
    except IndexBusy as exc:
        raise click.ClickException(f"Not rebuilt: {exc}.") from exc
    finally:
        bars.close()
    click.echo(said)


@search_cli.command("sync")
def sync_command() -> None:
    """Apply every queued change now (rebuilding a missing or damaged index first)."""
    app = current_flask_app()
    try:
        if backends.name(app) == "whoosh":
            _ensure_index()
        said = backends.current(app).sync(app)
    except (IndexBusy, SearchUnavailable) as exc:
        raise click.ClickException(str(getattr(exc, "message", exc))) from exc
    click.echo(said)


@search_cli.command("worker")
@click.option(
    "--interval",
    type=click.FloatRange(0.05, 60.0),
    default=0.5,
    show_default=True,
    help="Seconds between looks at the queue.",
)
def worker_command(interval: float) -> None:
    """Keep the index up to date until stopped (for deployments with several web processes)."""
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    app = current_flask_app()
    if backends.name(app) != "whoosh":
        click.echo("Nothing to do: the postgres search backend writes documents with each save.")
        return
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"Search worker watching the queue every {interval}s (Ctrl-C to stop).")
    first = True
    delay = interval
    while not stopping:
        try:
            result = indexer.run_once(app, lock_timeout=0.0, check_files=first)
            first = False
            if result.rows:
                click.echo(f"Indexed {result.indexed}, removed {result.removed}.")
            delay = interval
        except IndexBusy:
            delay = interval
        except SearchUnavailable:
            delay = max(interval, 5.0)
        except Exception as exc:  # keep serving; say what went wrong
            click.echo(f"Indexing failed ({exc!r}); retrying.", err=True)
            delay = min(max(delay * 2, interval), 60.0)
        slept = 0.0
        while slept < delay and not stopping:
            time.sleep(min(0.1, delay))
            slept += min(0.1, delay)
    click.echo("Search worker stopped.")


@search_cli.command("check")
@click.option("--repair", is_flag=True, help="Re-index what differs from the database.")
def check_command(repair: bool) -> None:
    """Compare the index with the database (ids and a content hash per document)."""
    bars = ProgressBars("Checking")
    app = current_flask_app()
    try:
        if backends.name(app) == "whoosh":
            _ensure_index()
        report = backends.current(app).check(app, repair=repair, progress=bars)
    except (IndexBusy, SearchUnavailable) as exc:
        raise click.ClickException(str(getattr(exc, "message", exc))) from exc
    finally:
        bars.close()
    drift = False
    for d in report:
        if d.ok:
            click.echo(f"{d.index}: {d.checked:,} documents agree with the database.")
            continue
        drift = True
        click.echo(
            f"{d.index}: {len(d.missing)} missing, {len(d.extra)} no longer in the "
            f"database, {len(d.stale)} out of date (of {d.checked:,})."
        )
        for label, ids in (("missing", d.missing), ("extra", d.extra), ("stale", d.stale)):
            if ids:
                shown = ", ".join(str(i) for i in ids[:20])
                more = f" and {len(ids) - 20} more" if len(ids) > 20 else ""
                click.echo(f"  {label}: {shown}{more}")
        if d.repaired:
            click.echo(
                f"  repaired: {len(d.missing) + len(d.extra) + len(d.stale)} documents re-indexed."
            )
    if drift and not repair:
        click.echo("Run `flask search check --repair` to fix the differences.")
        raise SystemExit(1)
