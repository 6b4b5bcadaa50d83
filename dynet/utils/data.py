"""`dynet.utils.data`: the same names as `torch.utils.data`, re-exported from dynet.data."""
from ..data import *  # noqa: F401,F403
from ..data import __all__  # noqa: F401
