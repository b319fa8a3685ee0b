"""The only package that imports TensorFlow/Keras; its modules run in worker processes."""
