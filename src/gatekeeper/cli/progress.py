"""Show checks as they run: a live display on a terminal, one line per finished check otherwise (CI logs)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TextIO

from gatekeeper.engine import CheckEvent


@contextlib.contextmanager
def progress_display(stream: TextIO, total: int) -> Iterator[Callable[[CheckEvent], None]]:
    if not stream.isatty() or total == 0:

        def plain(event: CheckEvent) -> None:
            if event.kind == "finished" and event.result is not None:
                result = event.result
                extra = f": {result.error}" if result.error else f", {len(result.findings)} finding(s)"
                stream.write(
                    f"gatekeeper: [{event.index + 1}/{total}] {event.check} ({event.uses}) "
                    f"{result.status} in {result.duration_s:.1f}s{' (cached)' if result.cached else ''}{extra}\n"
                )
                stream.flush()

        yield plain
        return

    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

    console = Console(file=stream, no_color="NO_COLOR" in os.environ)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        overall = progress.add_task(f"running {total} check(s)", total=total)
        tasks: dict[str, TaskID] = {}

        def live(event: CheckEvent) -> None:
            if event.kind == "started":
                tasks[event.check] = progress.add_task(f"{event.check} ({event.uses})", total=None)
            elif event.kind == "progress" and event.check in tasks:
                progress.update(tasks[event.check], description=f"{event.check}: {event.message}")
            elif event.kind == "finished":
                if event.check in tasks:
                    progress.remove_task(tasks.pop(event.check))
                progress.advance(overall)
                if event.result is not None:
                    console.print(
                        f"  {event.result.status:7} {event.check} ({event.uses}) {event.result.duration_s:.1f}s"
                        + (" (cached)" if event.result.cached else "")
                    )

        yield live
