"""Widgets of the Pooling page."""
