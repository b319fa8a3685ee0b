"""The bottom layer: argument checks and project paths. Imports nothing from the project."""
