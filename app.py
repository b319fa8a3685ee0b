"""ConvScope: an interactive explorer for convolutional neural networks.

Run with ``streamlit run app.py``. This file only sets up the page and the
navigation; every topic lives in its own script under ``pages/``.
"""

import streamlit as st

st.set_page_config(
    page_title="ConvScope",
    page_icon=":material/grid_on:",
    layout="wide",
)

HOME = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
FOUNDATIONS = [
    st.Page("pages/pixels_channels.py", title="Pixels & Channels", icon=":material/palette:"),
    st.Page("pages/kernel_playground.py", title="Kernel Playground", icon=":material/blur_on:"),
    st.Page(
        "pages/convolution_arithmetic.py",
        title="Convolution Arithmetic",
        icon=":material/calculate:",
    ),
    st.Page("pages/pooling.py", title="Pooling", icon=":material/compress:"),
]
NETWORKS = [
    st.Page("pages/train_cnn.py", title="Train a CNN", icon=":material/model_training:"),
    st.Page("pages/inspect_network.py", title="Inspect a Network", icon=":material/search:"),
]

navigation = st.navigation({"": [HOME], "Foundations": FOUNDATIONS, "Networks": NETWORKS})
navigation.run()
