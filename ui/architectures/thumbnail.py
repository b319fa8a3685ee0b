"""The Architectures card's picture on the home page: a real residual block, as the page
draws it.

Like the other home thumbnails it is a real result of what the page teaches: the first
block of ResNet-20's second stage from `ui.architectures.diagram.layout` (its input, the
two convolutions of the main path, the 1×1 projection on the shortcut and the Add where
they meet), drawn in the diagram's colours without the words, which would not be readable.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.nets.famous import famous
from core.nets.summary import summarize
from ui.architectures.diagram import COLOURS, layout

THUMB = 160

BLOCK = "conv3_block1"


BACKGROUND = (248, 250, 252)  # the faint grey of slides, so the card is not a white hole


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


def architecture_thumbnail() -> np.ndarray:
    """RGB uint8 (160, 160, 3): a projection residual block, boxes and arrows.

    >>> picture = architecture_thumbnail()
    >>> picture.shape, picture.dtype.name
    ((160, 160, 3), 'uint8')
    """
    spec = famous("resnet20")
    drawing = layout(spec, summarize(spec), compact=True)
    by_name = {node.name: node for node in drawing.nodes}
    block = [node for node in drawing.nodes if node.name.startswith(BLOCK)]
    first_row = min(node.row for node in block) - 1
    shown = {
        node.name: node
        for node in drawing.nodes
        if first_row <= node.row <= max(n.row for n in block) and node.lane in (0, 1)
    }
    rows = 1 + max(node.row for node in shown.values()) - first_row
    pitch = THUMB / rows
    width, height = 70, int(pitch * 0.62)

    def centre(name: str) -> tuple[int, int]:
        node = by_name[name]
        return int(44 + node.lane * 76), int(pitch * (node.row - first_row + 0.5))

    canvas = np.full((THUMB, THUMB, 3), BACKGROUND, np.uint8)
    for source, target in drawing.edges:
        if source in shown and target in shown:
            (x1, y1), (x2, y2) = centre(source), centre(target)
            merge = by_name[target].kind == "merge"
            colour = _rgb(COLOURS["merge"][1]) if merge else (148, 163, 184)
            # Down the source's lane to the row above the target, then across (as drawn).
            bend = (x1, max(y1 + height // 2, int(y2 - pitch)))
            cv2.line(canvas, (x1, y1 + height // 2), bend, colour, 2, cv2.LINE_AA)
            end = (x2, y2 - height // 2)
            cv2.arrowedLine(canvas, bend, end, colour, 2, cv2.LINE_AA, tipLength=0.25)
    for node in shown.values():
        x, y = centre(node.name)
        fill, outline = (_rgb(colour) for colour in COLOURS[node.kind])
        corners = (x - width // 2, y - height // 2), (x + width // 2, y + height // 2)
        cv2.rectangle(canvas, *corners, fill, thickness=-1, lineType=cv2.LINE_AA)
        cv2.rectangle(canvas, *corners, outline, thickness=2, lineType=cv2.LINE_AA)
    return canvas
