"""Inspect a Network (placeholder until its issue lands)."""

import streamlit as st

st.title("Inspect a Network")
st.info("This page is coming in the next release. The home page says what it will teach.")
