"""Example models and scripts (python -m dynet.examples.lenet)."""
