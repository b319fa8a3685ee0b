"""Kernel Playground (placeholder until its issue lands)."""

import streamlit as st

st.title("Kernel Playground")
st.info("This page is coming in the next release. The home page says what it will teach.")
