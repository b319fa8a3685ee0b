"""ui.widgets.content_cache: results kept by what the arguments hold, never by identity."""

from __future__ import annotations

import threading

import numpy as np

from ui.widgets.content_cache import by_content
from ui.widgets.matrix_html import matrix_table


def test_a_changed_array_is_worked_out_again():
    values = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = matrix_table(values, title="A")
    values[0, 0] = -7.0  # the same object, other numbers
    after = matrix_table(values, title="A")
    assert after != before
    assert ">-7</td>" in after
    assert after == matrix_table.__wrapped__(values, title="A")


def test_kept_tables_are_the_ones_the_builder_makes():
    cases = [
        ([[1, 2.5]], {}),
        ([[1, 2.5]], {"fmt": "{:.1f}"}),
        (np.arange(9.0).reshape(3, 3), {"highlight": np.eye(3, dtype=bool), "indices": True}),
        ([[0.0, 1.0]], {"text": np.array([["", "x"]], dtype=object), "zmin": 0, "zmax": 1}),
        ([[0.0, 1.0]], {"text": np.array([["", "y"]], dtype=object), "zmin": 0, "zmax": 1}),
    ]
    for values, options in cases:
        first = matrix_table(values, **options)
        assert first == matrix_table.__wrapped__(values, **options)
        assert matrix_table(values, **options) is first  # the second call is the kept one
    assert cases[3][1]["text"][0, 1] == "x"
    with_x, with_y = (matrix_table(values, **options) for values, options in cases[3:])
    assert with_x != with_y  # the texts are part of the key


def test_it_keeps_at_most_maxsize_results():
    calls = []

    @by_content(2)
    def square(value):
        calls.append(value)
        return value * value

    for value in (1, 2, 3, 1):  # 1 was dropped when 3 came
        square(value)
    assert calls == [1, 2, 3, 1]
    square(3)
    assert calls == [1, 2, 3, 1]


def test_threads_get_their_own_results():
    @by_content(8)
    def table(values):
        return matrix_table.__wrapped__(values)

    inputs = [np.full((3, 3), float(n)) for n in range(16)]
    wrong = []

    def work(offset: int) -> None:
        for index in range(200):
            values = inputs[(index + offset) % len(inputs)]
            if table(values) != matrix_table.__wrapped__(values):
                wrong.append(index)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong
