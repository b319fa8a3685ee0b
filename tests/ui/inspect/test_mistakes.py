"""ui.inspect.mistakes: the commonest mistake and the clickable confusion matrix. The section
itself (evaluation, cells, top losses, CSVs) runs on the real worker in
tests/app_pages/test_page_inspect_network.py."""

from __future__ import annotations

import numpy as np

from ui.inspect.mistakes import MAX_LABELLED_CLASSES, confusion_figure, worst_cell


def test_the_commonest_mistake_is_the_largest_cell_off_the_diagonal():
    assert worst_cell(np.array([[50, 2, 7], [1, 40, 0], [3, 9, 30]])) == (2, 1)
    assert worst_cell(np.eye(3, dtype=int) * 5) == (0, 0)  # no mistakes
    assert worst_cell(np.array([[4]])) == (0, 0)


def test_the_confusion_figure_prints_counts_names_and_the_chosen_cell():
    confusion = np.array([[5, 1], [3, 4]])
    figure = confusion_figure(confusion, ["cat", "dog"], (1, 0))
    heatmap, targets = figure.data
    assert np.asarray(heatmap.text).tolist() == [[5, 1], [3, 4]]
    assert heatmap.texttemplate == "%{text}"
    assert list(figure.layout.xaxis.ticktext) == ["cat", "dog"]
    assert len(targets.x) == 4  # every cell can be clicked
    (outline,) = figure.layout.shapes
    assert (outline.x0, outline.y0) == (-0.5, 0.5)  # column 0 (predicted), row 1 (true)


def test_many_classes_keep_their_counts_on_hover_only():
    count = MAX_LABELLED_CLASSES + 1
    figure = confusion_figure(np.ones((count, count), int), [str(i) for i in range(count)], (0, 0))
    assert figure.data[0].texttemplate is None
    assert figure.layout.xaxis.ticktext is None
