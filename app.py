"""ConvScope: an interactive explorer for convolutional neural networks.

Run with ``streamlit run app.py``. This file only starts the server: ``navigation.py`` is
the script every session runs (the page set-up and the navigation), and every topic lives
in its own script under ``app_pages/``. What is added to Streamlit's server:

- one route, which serves a page's address with Streamlit's own HTML page, told where the
  server is: without it, every first visit of a page other than Home started 0.1 s late
  (``ui/page_index.py``);
- TCP_NODELAY on the browsers' connections: without it, a larger message after a burst
  of small ones waited 40 ms (``ui/no_delay.py``).
"""

import streamlit as st
from starlette.middleware import Middleware

from ui.no_delay import NoDelay
from ui.page_index import page_routes

app = st.App("navigation.py", routes=page_routes(), middleware=[Middleware(NoDelay)])
