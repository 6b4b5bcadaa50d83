"""Global grad mode: no_grad / enable_grad / set_grad_enabled, as contexts and decorators."""
import functools

_enabled = True


def is_grad_enabled():
    return _enabled


def _set(mode):
    global _enabled
    _enabled = bool(mode)


class _GradMode:
    """Base for the grad-mode switches: a context manager that also decorates functions."""

    mode = True

    def __enter__(self):
        self._prev = _enabled
        _set(self.mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _enabled
            _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prev)
        return wrapper


class _NoParamGradMode(_GradMode):
    """A switch usable as `@no_grad()` and also bare, as `@no_grad` (PyTorch allows both)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamGradMode):
    """Disables graph recording inside the block."""
    mode = False


class enable_grad(_NoParamGradMode):
    """Enables graph recording inside the block (e.g. within no_grad)."""
    mode = True


class set_grad_enabled(_GradMode):
    """Sets grad mode to `mode`; takes effect at once, as in PyTorch, and as a context."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._prev = _enabled
        _set(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        _set(self._prev)  # used as a decorator: switch only while fn runs
        return super().__call__(fn)


class inference_mode(_GradMode):
    """Alias of no_grad (dynet has no separate inference tensors); also usable bare."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)

    def __init__(self, mode=True):
        self.mode = not mode
