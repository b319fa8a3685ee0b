"""ConvScope: an interactive explorer for convolutional neural networks.

Run with ``streamlit run app.py``. This file only starts the server: ``navigation.py`` is
the script every session runs (the page set-up and the navigation), and every topic lives
in its own script under ``app_pages/``. The one route added to Streamlit's serves a page's
address with Streamlit's own HTML page, told where the server is: without it, every first
visit of a page other than Home started 0.1 s late (``ui/page_index.py``).
"""

import streamlit as st

from ui.page_index import page_routes

app = st.App("navigation.py", routes=page_routes())
