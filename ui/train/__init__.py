"""Widgets of the Train a CNN page."""
