"""ConvScope's script: every session runs it (``app.py`` starts the server).

This file only sets up the page and the navigation; every topic lives in its own
script under ``app_pages/``.

The folder is deliberately not called ``pages/``: Streamlit treats a ``pages/``
folder beside the script as an old-style multipage app until
``st.navigation`` has run once in the server process, so on a fresh server a
shared link such as ``/kernel_playground?...`` would run that script bare,
without this navigation or the wide layout (tests/browser/test_browser_app.py checks it).
"""

import streamlit as st

from ui import batched_events, gc_freeze
from ui.inspect.warm import warm_inference_worker
from ui.page_icon import icon_address
from ui.room.hook import lecture_room
from ui.widgets.image_view import frame_images
from ui.widgets.presentation import presentation_switch

st.set_page_config(
    page_title="ConvScope",
    # A file of our own: a Material icon here would be fetched from a font server on the
    # internet, and the app works offline. As a data address it is not hashed every run.
    page_icon=icon_address(),
    layout="wide",
)

batched_events.install()  # a run's elements reach the event loop in batches: less CPU
warm_inference_worker()  # once per server: Inspect then opens as fast as the other pages
HOME = st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True)
FOUNDATIONS = [
    st.Page("app_pages/pixels_channels.py", title="Pixels & Channels", icon=":material/palette:"),
    st.Page("app_pages/kernel_playground.py", title="Kernel Playground", icon=":material/blur_on:"),
    st.Page(
        "app_pages/convolution_arithmetic.py",
        title="Convolution Arithmetic",
        icon=":material/calculate:",
    ),
    st.Page("app_pages/pooling.py", title="Pooling", icon=":material/compress:"),
    st.Page("app_pages/backpropagation.py", title="Backpropagation", icon=":material/undo:"),
]
NETWORKS = [
    st.Page("app_pages/train_cnn.py", title="Train a CNN", icon=":material/model_training:"),
    st.Page("app_pages/inspect_network.py", title="Inspect a Network", icon=":material/search:"),
    st.Page(
        "app_pages/architectures.py", title="Famous Architectures", icon=":material/account_tree:"
    ),
]

frame_images()  # every picture framed: white pixels must not melt into the white page
navigation = st.navigation({"": [HOME], "Foundations": FOUNDATIONS, "Networks": NETWORKS})
presentation_switch()  # the projector's layout, its link parameter and the keys
with lecture_room(navigation, [HOME, *FOUNDATIONS, *NETWORKS]):  # students follow the lecturer
    navigation.run()
gc_freeze.after_run()  # full garbage collections skip what the server holds for good
