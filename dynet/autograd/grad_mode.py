"""Grad mode and inference mode, per thread: no_grad / enable_grad / set_grad_enabled /
inference_mode, as contexts and decorators.

As in PyTorch, both flags are thread-local: `no_grad` in one thread (building a model,
`nn.init`, `load_state_dict`, evaluating) never switches recording off for a thread that
trains, and every new thread starts with grad mode on and inference mode off. The CPU pool's
workers (backend/parallel.py) only run raw-array kernel bodies, which never read these flags
(PyTorch's at::parallel_for does not carry them to its workers either).
"""
import functools
import threading


class _State(threading.local):
    # class attributes are each new thread's defaults
    enabled = True
    inference = False


# Hot paths read `grad_mode._state.enabled` (one thread-local attribute lookup)
_state = _State()


def is_grad_enabled():
    """True when operations are recorded for autograd in the current thread."""
    return _state.enabled


def is_inference_mode_enabled():
    """True inside inference_mode() in the current thread."""
    return _state.inference


def _set(mode):
    _state.enabled = bool(mode)


class _GradMode:
    """Base for the grad-mode switches: a context manager that also decorates functions."""

    mode = True

    def __enter__(self):
        self._prev = _state.enabled
        _set(self.mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _state.enabled
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
        self._prev = _state.enabled
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
    """no_grad that also sets is_inference_mode_enabled() (dynet has no separate inference
    tensors); inference_mode(False) turns grad mode on, as PyTorch's does. Usable bare."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)

    def __init__(self, mode=True):
        self.inference = bool(mode)
        self.mode = not mode

    def __enter__(self):
        self._prev_inference = _state.inference
        _state.inference = self.inference
        return super().__enter__()

    def __exit__(self, *exc):
        _state.inference = self._prev_inference
        return super().__exit__(*exc)

    def __call__(self, fn):
        inference = self.inference

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev, prev_inference = _state.enabled, _state.inference
            _set(not inference)
            _state.inference = inference
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prev)
                _state.inference = prev_inference
        return wrapper
