"""Networks as data: specs, presets, summaries and code. Never imports Keras."""
