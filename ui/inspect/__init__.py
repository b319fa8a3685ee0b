"""Widgets of the Inspect a Network page."""
