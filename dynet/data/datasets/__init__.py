"""Datasets: the IDX reader and the MNIST family (torchvision.datasets' interface)."""
from .idx import read_idx, write_idx
from .mnist import MNIST, FashionMNIST, MNISTSample

__all__ = ["read_idx", "write_idx", "MNIST", "FashionMNIST", "MNISTSample"]
