"""ui.room.chart: the answer chart's bars, order, colours and words."""

from __future__ import annotations

from core.jobs.rooms import Question
from ui.room import chart

WHERE = Question.choice("Where?", ["top left", "top right", "bottom left"], "top right")


SIZE = Question.number("Rows?", 3, minimum=0, maximum=100)


PIXEL = Question.number("Pixel?", 2.5, tolerance=0.05, decimals=2)


def test_choices_keep_their_order_and_show_zero_bars():
    assert chart.chart_rows(WHERE, {"bottom left": 4, "top right": 1}) == [
        ("top left", 0),
        ("top right", 1),
        ("bottom left", 4),
    ]


def test_numbers_go_from_small_to_large_and_rare_ones_merge():
    counts = {str(value): 1 for value in range(20)}
    counts["7"] = 9
    rows = chart.chart_rows(SIZE, counts)
    assert len(rows) == chart.MAX_BARS
    assert rows[-1] == (chart.OTHER, 20 - (chart.MAX_BARS - 1))
    shown = [float(label) for label, _ in rows[:-1]]
    assert shown == sorted(shown) and 7.0 in shown
    assert sum(count for _, count in rows) == sum(counts.values())


def test_bars_say_nothing_before_the_reveal_and_colour_right_answers_after():
    counts = {"2.5": 3, "2.52": 1, "3": 2}
    before = chart.answer_figure(PIXEL, counts, revealed=False).data[0]
    assert set(before.marker.color) == {chart.NEUTRAL}
    after = chart.answer_figure(PIXEL, counts, revealed=True).data[0]
    colours = dict(zip(after.y, after.marker.color, strict=True))
    assert colours == {"2.5": chart.RIGHT, "2.52": chart.RIGHT, "3": chart.WRONG}


def test_labels_are_plain_words_and_counts_are_printed_on_the_bars():
    figure = chart.answer_figure(WHERE, {"top right": 2}, revealed=False)
    assert figure.layout.xaxis.title.text == "Students who gave this answer"
    assert list(figure.data[0].text) == ["0", "2", "0"]
    assert figure.layout.xaxis.dtick == 1  # whole students, no 0.5 ticks
    assert figure.layout.xaxis.range[1] > 2  # the longest bar and its number fit


def test_caption_counts_answers():
    assert chart.answers_caption({"a": 2, "b": 3}) == "5 answers so far."
