"""The numbers of a network for people: the headline figures (parameters, multiply-adds,
layers) and the layer-by-layer table (output shape, parameters, multiply-adds, receptive
field), with thousands separators and "15.5 G" for billions."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from core.nets.gallery import GalleryEntry
from core.nets.summary import ModelSummary

# A plain HTML table costs the browser a fraction of a data grid (no grid script to load and
# run, bench/page_load.py); it scrolls inside its frame, its header row staying in view.
TABLE_CSS = (
    "<style>.cs-table{overflow:auto;border:1px solid rgba(49,51,63,.15);border-radius:.5rem}"
    ".cs-table table{border-collapse:collapse;width:100%;font-size:.85rem;line-height:1.3}"
    ".cs-table th,.cs-table td{padding:.3rem .55rem;border-bottom:1px solid rgba(49,51,63,.1);"
    "text-align:left;vertical-align:top}"
    ".cs-table th{position:sticky;top:0;background:#f8f9fb;font-weight:600;white-space:nowrap;"
    "color:rgba(49,51,63,.8)}"
    ".cs-table th[title]{text-decoration:underline dotted;cursor:help}"
    ".cs-table td{white-space:nowrap}"  # one line per layer; a narrow frame scrolls sideways
    ".cs-table td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".cs-table tr:last-child td{border-bottom:none}</style>"
)

_UNITS = ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k"))


def human_count(value: int) -> str:
    """A count in words for people: thousands, millions and billions with one decimal.

    >>> human_count(15_470_264_320), human_count(1_816_557_056), human_count(86_704_128)
    ('15.5 G', '1.8 G', '86.7 M')
    >>> human_count(9_408), human_count(640)
    ('9.4 k', '640')
    """
    for size, unit in _UNITS:
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:,}"


def layer_frame(summary: ModelSummary) -> pd.DataFrame:
    """One row per layer: output shape, parameters (an int, shown with separators),
    multiply-adds ("1.2 G"), receptive field, then type, settings and (for branched networks)
    what it reads.

    >>> from core.nets.presets import preset
    >>> from core.nets.summary import summarize
    >>> layer_frame(summarize(preset("mnist_cnn_a"))).loc[0, "Multiply-adds"]
    '225.8 k'
    """
    frame = pd.DataFrame(summary.to_rows())
    frame["Multiply-adds"] = [human_count(layer.macs) for layer in summary.layers]
    # The numbers first, so they stay in view on a narrow screen; the words after them.
    first = ["#", "Layer", "Output shape", "Parameters", "Multiply-adds", "Receptive field"]
    return frame[first + [column for column in frame.columns if column not in first]]


LAYER_HELP = {
    "Parameters": "Weights and biases of the layer (all of them).",
    "Multiply-adds": "Multiplications (each with an addition) for one image: "
    "H_out·W_out·k_h·k_w·C_in·filters for a convolution, inputs·units for Dense. "
    "k = thousand, M = million, G = billion.",
    "Receptive field": "How many input pixels one output value of the layer sees.",
}


def _cell(value) -> tuple[str, bool]:
    """A cell's text and whether it is a number (right-aligned, thousands separated).

    >>> _cell(18496), _cell(0.25), _cell("5×5"), _cell(None)
    (('18,496', True), ('0.25', True), ('5×5', False), ('', False))
    """
    if value is None or (isinstance(value, float) and value != value):
        return "", False  # missing: a blank cell
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value), False
    return (f"{value:,}" if float(value).is_integer() else f"{value:,.4g}"), True


def table_html(
    frame: pd.DataFrame, *, column_help: dict[str, str] | None = None, max_height: int = 640
) -> str:
    """``frame`` as an HTML table (escaped; whole numbers with separators, right-aligned; a
    column's help as its header's tooltip), scrolling inside ``max_height`` pixels.

    >>> frame = pd.DataFrame({"Layer": ["a<b"], "Parameters": [18496]})
    >>> text = table_html(frame, column_help={"Parameters": "Weights."})
    >>> "a&lt;b" in text, '<td class="num">18,496</td>' in text, 'title="Weights."' in text
    (True, True, True)
    """
    column_help = column_help or {}
    head = "".join(
        f'<th title="{html.escape(column_help[name])}">{html.escape(str(name))}</th>'
        if name in column_help
        else f"<th>{html.escape(str(name))}</th>"
        for name in frame.columns
    )
    rows = []
    for values in frame.itertuples(index=False):
        cells = (_cell(value.item() if hasattr(value, "item") else value) for value in values)
        rows.append(
            "<tr>"
            + "".join(
                f'<td class="num">{html.escape(text)}</td>'
                if number
                else f"<td>{html.escape(text)}</td>"
                for text, number in cells
            )
            + "</tr>"
        )
    return (
        f'{TABLE_CSS}<div class="cs-table" style="max-height:{max_height}px">'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def show_layer_table(summary: ModelSummary, *, max_height: int = 640) -> None:
    """The per-layer table, tall enough for short networks and scrolling for long ones."""
    with st.container(key="arch-layer_table"):
        st.html(table_html(layer_frame(summary), column_help=LAYER_HELP, max_height=max_height))


def headline_numbers(summary: ModelSummary, entry: GalleryEntry) -> list[tuple[str, str, str]]:
    """`(label, value, help)` of the (at most three) big figures above the diagram.

    >>> from core.nets.gallery import gallery_entry, network
    >>> from core.nets.summary import summarize
    >>> rows = headline_numbers(summarize(network("vgg16")), gallery_entry("vgg16"))
    >>> [(label, value) for label, value, _ in rows]
    [('Parameters', '138,357,544'), ('Convolutional base', '14,714,688'), ('Multiply-adds per image', '15.5 G')]
    """  # noqa: E501
    numbers = [
        (
            "Parameters",
            f"{summary.total_params:,}",
            "Every weight and bias, as Keras' model.summary() counts them.",
        )
    ]
    if entry.part is not None:
        label, last_layer = entry.part
        numbers.append(
            (
                label,
                f"{summary.params_up_to(last_layer):,}",
                f"Parameters of the layers up to {last_layer}.",
            )
        )
    elif summary.non_trainable_params:
        numbers.append(
            (
                "Trainable",
                f"{summary.trainable_params:,}",
                f"Without the {summary.non_trainable_params:,} moving means and variances of "
                "batch normalisation, which are measured, not learned (PyTorch leaves them "
                "out of its count).",
            )
        )
    numbers.append(
        (
            "Multiply-adds per image",
            human_count(summary.total_macs),
            f"{summary.total_macs:,} multiplications, each with an addition, for one image.",
        )
    )
    return numbers


def headline_caption(summary: ModelSummary) -> str:
    """The smaller facts under the big figures.

    >>> from core.nets.presets import preset
    >>> from core.nets.summary import summarize
    >>> headline_caption(summarize(preset("lenet5")))
    '8 Keras layers · input 28×28×1 · 10 classes out'
    """
    shape = "×".join(str(d) for d in summary.input_shape)
    classes = summary.output_shape[-1]
    return f"{len(summary.layers)} Keras layers · input {shape} · {classes:,} classes out"


# The big figures look like Streamlit's metrics but are one HTML block: three metrics in
# three columns cost a first visit far more (bench/page_load.py); the help is the tooltip.
HEADLINE_CSS = (
    "<style>.cs-headline{display:flex;flex-wrap:wrap;gap:.25rem 1rem}"
    ".cs-headline .fig{flex:1 1 9rem;min-width:0}"
    ".cs-headline .lab{font-size:.875rem;color:rgb(49,51,63);text-decoration:underline dotted "
    "rgba(49,51,63,.4);cursor:help}"
    ".cs-headline .val{font-size:clamp(1.6rem,3.2vw,2.25rem);line-height:1.4;white-space:nowrap}"
    ".cs-headline-facts{font-size:.875rem;color:rgba(49,51,63,.6);margin-top:.25rem}</style>"
)


def headline_html(numbers: list[tuple[str, str, str]], facts: str) -> str:
    """The big figures (label, value, help as tooltip) in one row, the facts under them.

    >>> text = headline_html([("Parameters", "61,706", "All <weights>.")], "8 layers")
    >>> '<div class="val">61,706</div>' in text, 'title="All &lt;weights&gt;."' in text
    (True, True)
    """
    figures = "".join(
        f'<div class="fig"><div class="lab" title="{html.escape(help_text)}">'
        f'{html.escape(label)}</div><div class="val">{html.escape(value)}</div></div>'
        for label, value, help_text in numbers
    )
    return (
        f'{HEADLINE_CSS}<div class="cs-headline">{figures}</div>'
        f'<div class="cs-headline-facts">{html.escape(facts)}</div>'
    )


def show_headline(summary: ModelSummary, entry: GalleryEntry) -> None:
    """The big figures in one row, and the smaller facts under them (one HTML block)."""
    st.html(headline_html(headline_numbers(summary, entry), headline_caption(summary)))
