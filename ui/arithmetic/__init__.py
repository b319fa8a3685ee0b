"""Widgets of the Convolution Arithmetic page."""
