"""Widgets of the Pixels & Channels page."""
