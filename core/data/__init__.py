"""Data sets: the built-in ones, preprocessing, and uploaded image folders."""
