"""The Architectures page's widgets: the network picker, the drawn diagram, the numbers and
the layer table, what makes each network special, and the link to train it."""
