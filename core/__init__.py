"""ConvScope's computation, in layers: each package may import only those below it.

    worker   TensorFlow/Keras: training, inference, model checks (runs in worker processes)
    jobs     run folders, configs, the model store, the worker runner and clients
    nets     model descriptions, presets, summaries, "as Keras code" (text only)
    data     built-in data sets, preprocessing, uploaded image folders
    imaging  decoding user images, synthetic images, worked examples, lessons
    ops      convolution, pooling, kernels and their analysis (numpy/scipy/OpenCV)
    base     argument checks and project paths

The rules are import-linter contracts in pyproject.toml, checked by tests/test_architecture.py.
Nothing here imports Streamlit."""
