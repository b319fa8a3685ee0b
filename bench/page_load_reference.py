"""The reference page of ``bench/page_load.py``: a bare Streamlit page with one image.

Each page of the app is timed against this one, served by its own ``streamlit run`` side
by side, so the ratio says what the page itself costs beyond Streamlit's own start.
"""

import streamlit as st

from core.base.paths import ASSETS_DIR

st.set_page_config(page_title="Reference", layout="wide")
st.title("A bare page")
st.image(str(ASSETS_DIR / "images" / "astronaut.png"), caption="One image", width=512)
