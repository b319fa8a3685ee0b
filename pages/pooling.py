"""Pooling (placeholder until its issue lands)."""

import streamlit as st

st.title("Pooling")
st.info("This page is coming in the next release. The home page says what it will teach.")
