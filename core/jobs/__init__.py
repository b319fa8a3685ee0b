"""Long work in other processes: run folders, configs, the model store, the runner and clients."""
