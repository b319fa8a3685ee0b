"""Plotly axes that fit their data: whole-number ticks on counts and cells, 0–100 % on shares.

Plotly's automatic axes pad a range and pick "nice" ticks, which on a projector shows up as
phantom ticks (a row −1 and a row 7 around a 7-row output) or a probability axis whose last
label is 80 % while its bars reach 99 %. These settings say exactly what the axis holds.

>>> integer_axis(5)["tickvals"], integer_axis(5)["range"]
([0, 1, 2, 3, 4], [-0.5, 4.5])
>>> probability_axis()["ticktext"]
['0%', '25%', '50%', '75%', '100%']
"""

from __future__ import annotations

NICE_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)


MAX_TICKS = 8


def integer_ticks(first: int, last: int, *, max_ticks: int = MAX_TICKS) -> list[int]:
    """Whole-number tick positions from ``first`` to ``last`` (both real), at most ``max_ticks``.

    >>> integer_ticks(0, 6), integer_ticks(0, 39)
    ([0, 1, 2, 3, 4, 5, 6], [0, 5, 10, 15, 20, 25, 30, 35])
    """
    span = max(last - first, 0) + 1
    wanted = -(-span // max_ticks)  # ceiling
    step = next((nice for nice in NICE_STEPS if nice >= wanted), wanted)
    start = -(-first // step) * step  # the first multiple of step at or after first
    return list(range(start, last + 1, step))


def integer_axis(count: int, *, first: int = 0, reversed_: bool = False) -> dict:
    """An axis over ``count`` cells or categories numbered ``first`` …: its range and ticks.

    The range ends half a cell beyond the first and last cells (so nothing is cut), and
    the ticks are whole numbers that exist, never −1 or ``count``. ``reversed_`` puts the
    first cell on top (rows of a matrix or image).

    >>> integer_axis(3, reversed_=True)["range"]
    [2.5, -0.5]
    """
    low, high = first - 0.5, first + count - 0.5
    return {
        "range": [high, low] if reversed_ else [low, high],
        "tickmode": "array",
        "tickvals": integer_ticks(first, first + count - 1),
        "autorange": False,
    }


def probability_axis(*, title: str = "probability") -> dict:
    """A 0–100 % axis with a tick at every quarter, for shares and probabilities (0–1).

    Bars labelled outside their end need ``cliponaxis=False`` on the trace and some
    right margin, as the axis itself stops at 100 %.
    """
    values = [0, 0.25, 0.5, 0.75, 1]
    return {
        "range": [0, 1],
        "tickmode": "array",
        "tickvals": values,
        "ticktext": [f"{round(v * 100)}%" for v in values],
        "title": title,
        "autorange": False,
    }
