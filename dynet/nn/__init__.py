"""dynet.nn: Module, Parameter, containers, layers, losses, functional and init."""
from . import functional, init, parallel, utils
from . import functional as F  # noqa: F401  (the conventional alias, as `import ... as F`)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .module import Module
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter

__all__ = ["functional", "init", "utils", "Module", "Parameter", "Buffer", "Sequential", "ModuleList",
           "ModuleDict", "ParameterList", "ParameterDict"] + list(_modules_all)
