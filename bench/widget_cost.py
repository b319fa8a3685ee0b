"""What one kind of widget costs a first visit, next to the bare reference page (issue 12).

The pages that miss ``bench/page_load.py``'s goal (1.5× a bare page) are made mostly of
widgets, so this says which to cut first. ``bench/widget_cost_page.py`` serves the reference
page (a title and one image) and, with ``?kind=selectbox&n=3``, the same page plus three
select boxes. Each round visits the reference, then every kind once with one widget and once
with ``--many``, each in a fresh headless Chromium context, and times it as
``bench/page_load.py`` does (settled: the script has run, nothing changed for a while).

For each kind it prints the settle-time ratio of one widget and of ``--many`` to the
reference's median (the first widget of a kind pays for its code and styles once), what each
further widget adds, and the same for the renderer's CPU time, which moves less when the
machine is busy.

Run: ``python bench/widget_cost.py [--rounds 5] [--many 6] [--kinds selectbox,button]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.page_load import streamlit_server, visit
from bench.widget_cost_page import WIDGETS
from tests.browser_helpers import open_browser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="visits of each variant")
    parser.add_argument("--many", type=int, default=6, help="widgets in the second variant")
    parser.add_argument("--kinds", default=",".join(WIDGETS), help="comma-separated kinds")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per visit")
    args = parser.parse_args()
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    unknown = sorted(set(kinds) - set(WIDGETS))
    if unknown or args.many < 2:
        parser.error(f"kinds must be among {', '.join(WIDGETS)}, and --many at least 2")
    timeout_ms = int(args.timeout * 1e3)

    with contextlib.ExitStack() as stack:
        url = stack.enter_context(streamlit_server(ROOT / "bench" / "widget_cost_page.py"))
        browser = stack.enter_context(open_browser())
        variants = {("reference", 0): url + "/"}
        for kind in kinds:
            for count in (1, args.many):
                variants[(kind, count)] = f"{url}/?kind={kind}&n={count}"
        for address in variants.values():  # the server's first run of each (its imports)
            visit(browser, address, timeout_ms)
        visits = {variant: [] for variant in variants}
        for _ in range(args.rounds):
            for variant, address in variants.items():
                visits[variant].append(visit(browser, address, timeout_ms))

    def median(variant, key: str) -> float:
        return statistics.median(v[key] for v in visits[variant])

    reference = median(("reference", 0), "settled_ms")
    reference_cpu = median(("reference", 0), "cpu") or 1.0
    print(
        f"{args.rounds} rounds, each visit a fresh context (load average "
        f"{os.getloadavg()[0]:.1f}); reference page: {reference:.0f} ms to settle, "
        f"renderer CPU {reference_cpu:.0f} ms"
    )
    print(
        f"{'kind':18s} {'1 widget':>9s} {f'{args.many} widgets':>10s} {'each more':>10s}"
        f" {'cpu× 1':>7s} {f'cpu× {args.many}':>7s} {'each more':>10s}"
    )
    for kind in kinds:
        one, many = (median((kind, count), "settled_ms") / reference for count in (1, args.many))
        cpu_one, cpu_many = (
            median((kind, count), "cpu") / reference_cpu for count in (1, args.many)
        )
        errors = sum(v.get("error", False) for count in (1, args.many) for v in visits[kind, count])
        print(
            f"{kind:18s} {one:8.2f}× {many:9.2f}× {(many - one) / (args.many - 1):+9.3f}×"
            f" {cpu_one:7.2f} {cpu_many:7.2f} {(cpu_many - cpu_one) / (args.many - 1):+10.3f}"
            + (f"  ({errors} visits showed an error)" if errors else "")
        )
    print(
        "ratios: settle time over the reference page's median; cpu×: the renderer's CPU time "
        "over the reference's; each more: what every widget after the first adds"
    )


if __name__ == "__main__":
    main()
