"""The Backpropagation page's widgets: controls, grids and the step-by-step views."""
