"""The page of ``bench/widget_cost.py``: the bare reference page plus N widgets of one kind.

``?kind=selectbox&n=3`` adds three select boxes under the reference page's title and image;
no ``kind`` is the reference page itself. One server serves every variant, so each is timed
against the same Streamlit, on the same port, in the same rounds.
"""

import streamlit as st

from core.base.paths import ASSETS_DIR

OPTIONS = ["valid", "same", "full"]

# kind → how to draw its widget number i (the label and key differ so none is a duplicate).
WIDGETS = {
    "button": lambda i: st.button(f"Button {i}", key=f"w{i}"),
    # deferred, as the pictures' export buttons are: the file is made only when clicked
    "download_button": lambda i: st.download_button(
        f"Download {i}", lambda: b"data", file_name="data.txt", key=f"w{i}", on_click="ignore"
    ),
    "markdown": lambda i: st.markdown(f"Some **markdown**, number {i}"),
    "text_input": lambda i: st.text_input(f"Text {i}", "0", key=f"w{i}"),
    "number_input": lambda i: st.number_input(f"Number {i}", 1, 8, key=f"w{i}"),
    "selectbox": lambda i: st.selectbox(f"Select {i}", OPTIONS, key=f"w{i}"),
    "radio": lambda i: st.radio(f"Radio {i}", OPTIONS, key=f"w{i}", horizontal=True),
    "checkbox": lambda i: st.checkbox(f"Checkbox {i}", key=f"w{i}"),
    "segmented_control": lambda i: st.segmented_control(f"Segments {i}", OPTIONS, key=f"w{i}"),
    "slider": lambda i: st.slider(f"Slider {i}", 1, 8, key=f"w{i}"),
    "popover": lambda i: st.popover(f"Popover {i}"),  # shut: its contents are never drawn
    "expander": lambda i: st.expander(f"Expander {i}"),
    "toggle": lambda i: st.toggle(f"Toggle {i}", key=f"w{i}"),
    "select_slider": lambda i: st.select_slider(f"Steps {i}", OPTIONS, key=f"w{i}"),
    # three tabs, each with a line of text; only the first shows
    "tabs": lambda i: [tab.markdown(f"Tab {j}") for j, tab in enumerate(st.tabs(OPTIONS))],
    "html": lambda i: st.html(f"<div style='color:#555'>Some <b>HTML</b>, number {i}</div>"),
    "columns": lambda i: [column.caption(f"Column {j}") for j, column in enumerate(st.columns(3))],
}


def draw() -> None:
    """The reference page, then the widgets the address asks for."""
    st.set_page_config(page_title="Reference", layout="wide")
    st.title("A bare page")
    st.image(str(ASSETS_DIR / "images" / "astronaut.png"), caption="One image", width=512)
    kind = st.query_params.get("kind")
    if kind in WIDGETS:
        for number in range(int(st.query_params.get("n", "1"))):
            WIDGETS[kind](number)


if __name__ == "__main__":  # as Streamlit runs it; widget_cost.py imports WIDGETS
    draw()
