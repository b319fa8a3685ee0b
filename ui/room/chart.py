"""The room's answer chart: how many students gave each answer, anonymous, in plain words.

Before the reveal every bar has one colour (the lecturer projects it, so the chart must
not give the answer away); after the reveal the right answers turn green.

>>> question = Question.choice("Where?", ["top left", "top right"], "top right")
>>> figure = answer_figure(question, {"top right": 2}, revealed=False)
>>> list(figure.data[0].y), list(figure.data[0].x)
(['top left', 'top right'], [0, 2])
"""

from __future__ import annotations

import plotly.graph_objects as go

from core.jobs.rooms import Question

# Numeric questions show this many distinct answers; the rest share one bar.
MAX_BARS = 12


OTHER = "other answers"


NEUTRAL, RIGHT, WRONG = "#4c78a8", "#2ca02c", "#b0b0b0"


def chart_rows(question: Question, counts: dict[str, int]) -> list[tuple[str, int]]:
    """(answer, students) in the order the chart shows them.

    Choices keep the question's order (zeros too, so bars do not jump while answers
    arrive); numbers go from small to large, the rarest beyond ``MAX_BARS`` merged.

    >>> chart_rows(Question.number("n?", 3), {"4": 1, "3": 5, "10": 2})
    [('3', 5), ('4', 1), ('10', 2)]
    """
    if question.kind == "choice":
        return [(choice, int(counts.get(choice, 0))) for choice in question.choices]
    ranked = sorted(counts.items(), key=lambda item: (-item[1], float(item[0])))
    kept, rest = ranked[: MAX_BARS - 1], ranked[MAX_BARS - 1 :]
    if len(ranked) <= MAX_BARS:
        kept, rest = ranked, []
    rows = sorted(kept, key=lambda item: float(item[0]))
    if rest:
        rows.append((OTHER, sum(count for _, count in rest)))
    return rows


def answers_caption(counts: dict[str, int]) -> str:
    """How many answers have come in, in words.

    >>> answers_caption({}), answers_caption({"3": 1}), answers_caption({"3": 2, "4": 1})
    ('No answers yet.', '1 answer so far.', '3 answers so far.')
    """
    total = sum(counts.values())
    if total == 0:
        return "No answers yet."
    return f"{total} answer{'s' if total != 1 else ''} so far."


def answer_figure(question: Question, counts: dict[str, int], *, revealed: bool) -> go.Figure:
    """A horizontal bar per answer; green for right ones once ``revealed``."""
    rows = chart_rows(question, counts)
    labels = [label for label, _ in rows]
    values = [count for _, count in rows]
    if revealed:
        colors = [
            RIGHT if label != OTHER and question.is_correct(label) else WRONG for label in labels
        ]
    else:
        colors = [NEUTRAL] * len(rows)
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=colors,
            text=[str(value) for value in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x} students<extra></extra>",
        )
    )
    top = max(values, default=0)
    figure.update_layout(
        height=max(220, 60 + 36 * len(rows)),
        margin=dict(l=10, r=40, t=10, b=40),
        xaxis=dict(
            title="Students who gave this answer",
            range=[0, max(top, 1) * 1.15 + 0.5],
            dtick=1 if top <= 10 else None,
            rangemode="tozero",
        ),
        yaxis=dict(
            title="",
            autorange="reversed",
            type="category",
            automargin=True,
            tickfont=dict(size=20),
        ),
        font=dict(size=16),
        showlegend=False,
    )
    return figure
