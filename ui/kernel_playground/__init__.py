"""Widgets and link state of the Kernel Playground."""
