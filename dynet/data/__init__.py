"""Data loading: torch.utils.data's Dataset/Sampler/DataLoader, plus torchvision-style
`datasets` (IDX files, MNIST family) and `transforms`."""
from . import datasets, transforms
from .dataloader import DataLoader, default_collate, default_convert
from ._worker import WorkerInfo, get_worker_info
from .dataset import (ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset,
                      random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info",
           "WorkerInfo", "Dataset", "IterableDataset",
           "TensorDataset", "Subset", "ConcatDataset", "random_split", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler",
           "datasets", "transforms"]
