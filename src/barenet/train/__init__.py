"""Training: configs, building models from them, the training loop and run folders."""
