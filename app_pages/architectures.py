"""Famous Architectures: LeNet-5, AlexNet, VGG16, GoogLeNet, ResNet and the course's own
networks, drawn layer by layer with their exact numbers.

Pick a network and see its layers drawn (branches and merges too), its parameters,
multiply-adds and receptive field layer by layer, what made it special, and the Keras code
that builds it. The small ones train on the Train a CNN page in one click.

Everything here is plain Python (`core.nets`): no TensorFlow in the server.
"""

import streamlit as st

from core.nets.gallery import network
from core.nets.keras_code import to_keras_code
from core.nets.summary import summarize
from ui.architectures.about import show_about, train_button
from ui.architectures.diagram import can_fold, diagram_size, layout, show_diagram
from ui.architectures.link import LINK, TAB_NAMES
from ui.architectures.picker import compact_toggle, network_picker, wrap_labels
from ui.architectures.table import show_headline, show_layer_table
from ui.train.architecture import request_preset
from ui.train.link import train_this
from ui.widgets.page_link import request_restore
from ui.widgets.presentation import is_on as presenting
from ui.widgets.presentation import main_picture

TRAIN_PAGE = "app_pages/train_cnn.py"

WIDE_DIAGRAM = 640  # pixels: wider diagrams get the whole width of the page

st.title("Famous Architectures")
st.caption(
    "From LeNet-5 to ResNet: the networks that shaped image recognition, drawn layer by "
    "layer with their exact parameter counts, cost and receptive fields."
)

LINK.start()  # `?network=vgg16` and the rest of the page's state; the address follows
main_picture(".st-key-arch-diagram")  # presentation mode starts with the diagram
pick_col, toggle_col = st.columns([2, 1], vertical_alignment="bottom")
with pick_col:
    entry = network_picker()
try:
    spec = network(entry.key)
    summary = summarize(spec)
except ValueError as error:  # not expected for the gallery's own networks
    st.error(f"{entry.title} cannot be shown: {error}")
    st.stop()
with toggle_col:
    compact = compact_toggle(foldable=can_fold(spec))
wrap_labels()  # a narrow window: the toggle's and metrics' labels wrap, not cut

show_headline(summary, entry)

drawing = layout(spec, summary, compact=compact)
if diagram_size(drawing)[0] > WIDE_DIAGRAM:  # GoogLeNet: the diagram takes the whole width
    about_area, diagram_area = st.container(), st.container()
else:
    diagram_area, about_area = st.columns([3, 2], gap="large")
with about_area:
    st.subheader(f"What makes {entry.title} special")
    show_about(entry)
    if train_button(entry, summary):
        request_preset(entry.key, entry.train_on)
        request_restore()  # the Train page reads its link again, even if visited before
        st.switch_page(TRAIN_PAGE, query_params=train_this(entry.key, entry.train_on))
with diagram_area:
    st.subheader("The layers, drawn")
    st.caption(
        "Top to bottom, one box per layer and its output shape (height × width × channels); "
        "branches side by side, orange arrows into a merge. Hover a box for its numbers; "
        "long networks scroll inside the frame."
    )
    show_diagram(drawing, height=330 if presenting() else 720)  # a projector: one screen

table_tab, code_tab = st.tabs(TAB_NAMES, key="arch.tab", on_change="rerun")
with table_tab:
    st.caption(
        "Multiply-adds count the multiplications for one image (k thousand, M million, G "
        "billion). The receptive field is the patch of input pixels one output value sees; "
        "where branches merge, the largest field of the inputs."
    )
    show_layer_table(summary)
with code_tab:
    style = "the functional API (it has branches)" if spec.has_branches else "keras.Sequential"
    st.caption(f"Standalone Keras 3 code that builds this network with {style}.")
    if code_tab.open is not False:  # closed: no code highlighter for the browser to load
        st.code(to_keras_code(spec), language="python")
LINK.finish()  # names linked values the page could not use; keeps the address current
