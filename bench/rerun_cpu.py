"""Server CPU per full run of a page, as each following student's page costs the server.

In a lecture room every following student's page runs again with each change the
lecturer makes, with the same settings. This starts ``streamlit run app.py`` (and, with
``--before DIR``, an older checkout beside it, e.g. ``git archive <commit> | tar -x -C
DIR``), opens the page in one websocket session (``bench/streamlit_client.py``, no
browser), runs it ``--runs`` times with the link's settings switching between ``--query``
values, and reads the server process's CPU time around them: milliseconds of CPU per run,
and the ratio now / before, one round of each server after the other, ``--rounds`` times.

    .venv/bin/python bench/rerun_cpu.py --before DIR      # the Kernel Playground, stride 1 / 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.page_load import SERVER_PIDS, streamlit_server  # noqa: E402 - after the path is set
from bench.streamlit_client import StreamlitSession  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_page(url: str, page: str, queries: list[str], runs: int) -> None:
    session = StreamlitSession(url, fetch_media=False, timeout=120)
    try:
        for index in range(runs):
            run = await session.open(page, queries[index % len(queries)])
            if run.exceptions:
                raise RuntimeError(f"{page} failed: {run.exceptions[0]}")
    finally:
        await session.close()


def cpu_per_run(url: str, page: str, queries: list[str], runs: int) -> float:
    """Milliseconds of the server's CPU per run of ``page``."""
    pid = SERVER_PIDS[url]
    before = cpu_seconds(pid)
    asyncio.run(run_page(url, page, queries, runs))
    return (cpu_seconds(pid) - before) / runs * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", default="kernel_playground", help="the page's address")
    parser.add_argument(
        "--query", action="append", help="link settings to switch between (default s=1, s=2)"
    )
    parser.add_argument("--runs", type=int, default=60, help="runs of the page per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per server")
    parser.add_argument("--before", type=Path, help="an older checkout, timed beside this one")
    args = parser.parse_args(argv)
    queries = args.query or ["s=1", "s=2"]
    with contextlib.ExitStack() as stack:
        servers = {"now": stack.enter_context(streamlit_server(ROOT / "app.py"))}
        if args.before:
            servers["before"] = stack.enter_context(
                streamlit_server(args.before / "app.py", args.before.resolve())
            )
        for url in servers.values():  # first runs: imports, caches
            asyncio.run(run_page(url, args.page, queries, 6))
        figures = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, url in servers.items():
                figures[name].append(cpu_per_run(url, args.page, queries, args.runs))
    print(f"server CPU per run of {args.page} ({' / '.join(queries)}), ms per run:")
    for name, values in figures.items():
        shown = " ".join(f"{value:.1f}" for value in values)
        print(f"  {name:6s} median {statistics.median(values):5.1f}   rounds: {shown}")
    if "before" in figures:
        ratio = statistics.median(figures["now"]) / statistics.median(figures["before"])
        print(f"  now / before: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
