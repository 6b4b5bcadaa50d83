"""dynet.nn.parallel: DistributedDataParallel over dynet.distributed."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
