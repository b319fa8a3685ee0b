"""Streamlit widgets shared by several pages. Compute stays in ``core/``."""
