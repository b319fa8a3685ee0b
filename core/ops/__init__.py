"""Numeric operations on arrays: numpy, scipy and OpenCV only."""
