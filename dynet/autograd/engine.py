"""The backward engine: an iterative topological walk from the roots, gradients in a dict.

The graph's vertices are Function nodes and leaf tensors. A node keeps each input as the
node that produced it (or the leaf tensor itself), captured when the op ran, so an in-place
op that later rebinds a tensor to a new node never changes what older nodes point to.
"""
from ..backend import device_of, xp_of
from .function import Function
from .views import check_saved

_RELEASED = ("Trying to backward through the graph a second time (or directly access saved "
             "tensors after they have already been freed). Saved intermediate values of the "
             "graph are freed when you call .backward() or autograd.grad(). Specify "
             "retain_graph=True if you need to backward through the graph a second time or "
             "if you need to access saved tensors after calling backward.")


def _vertex(t):
    """The graph vertex of a tensor: its node, or the tensor itself for a leaf."""
    return t if t.grad_fn is None else t.grad_fn


def _topological_order(roots):
    """Vertices reachable from `roots`, each before all of its inputs.

    Iterative post-order DFS (a 10,000-op chain must not hit the recursion limit); the order
    is deterministic for a given graph. Vertices are their own set keys (nodes and tensors
    hash by identity), which saves an id() call per visit and per edge.
    """
    post = []
    visited = set()
    stack = [(r, False) for r in reversed(roots)]
    push, pop, add = stack.append, stack.pop, visited.add
    while stack:
        v, expanded = pop()
        if expanded:
            post.append(v)
            continue
        if v in visited:
            continue
        add(v)
        push((v, True))
        if isinstance(v, Function):
            if v.released:
                raise RuntimeError(_RELEASED)
            for p in v.parents:
                if p is not None and p not in visited:
                    push((p, False))
    post.reverse()
    return post


def run_backward(roots, root_grads, retain_graph=False, inputs=None):
    """Propagates `root_grads` (raw arrays) from the tensors `roots` back through the graph.

    Without `inputs`, gradients accumulate into `.grad` of leaves (and of tensors that
    called retain_grad()). With `inputs`, nothing is written; their gradients (raw arrays or
    None) are returned in order.
    """
    grads = {}  # vertex -> gradient array; vertices hash by identity
    vertices = [_vertex(r) for r in roots]
    for v, g in zip(vertices, root_grads):
        # the caller's gradient array must never become a leaf's .grad by aliasing
        grads[v] = grads[v] + g if v in grads else g
    wanted = None if inputs is None else {_vertex(t) for t in inputs}
    captured = {}
    owned = set()  # ids of arrays already stored as a leaf .grad in this pass
    pop, get = grads.pop, grads.get
    for v in _topological_order(vertices):
        g = pop(v, None)
        if g is None:
            continue
        is_node = isinstance(v, Function)
        # a non-leaf tensor's hooks and retain_grad live on its node's owner (see Tensor)
        t = v._owner if is_node else v
        if t is not None:
            if t._backward_hooks:
                for hook in t._backward_hooks:
                    new = hook(_wrap(g))
                    if new is not None:
                        g = new._data
            if wanted is not None:
                if v in wanted:
                    captured[v] = g
            elif not is_node or t._retains_grad:
                _accumulate(t, g, owned, root_grads)
                if not is_node:
                    _post_accumulate(t)
        elif wanted is not None and v in wanted:
            captured[v] = g
        if not is_node:
            continue
        if v._saved_versions is not None:
            check_saved(v)
        if v.cuda_device is None:
            in_grads = v.backward(v, g)
        else:  # under the forward inputs' GPU (see Function.apply)
            with v.cuda_device:
                in_grads = v.backward(v, g)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for p, pg in zip(v.parents, in_grads):
            if p is None or pg is None:
                continue
            if isinstance(p, Function):
                shape, dtype = p.out_meta
            else:
                data = p._data
                shape, dtype = data.shape, data.dtype
            if pg.shape != shape:
                raise RuntimeError(
                    f"Function {v.name()} returned an invalid gradient: got shape "
                    f"{tuple(pg.shape)} but expected shape {tuple(shape)}")
            if pg.dtype is not dtype and pg.dtype != dtype:
                pg = pg.astype(dtype)
            old = get(p)
            grads[p] = pg if old is None else old + pg
        if not retain_graph:  # Function.release, inline (once per node)
            v.__dict__.clear()
            v.saved_tensors = None
            v.released = True
    _run_final_callbacks()
    if wanted is not None:
        return [captured.get(_vertex(t)) for t in inputs]
    return None


_final_callbacks = []


def queue_callback(callback):
    """Runs `callback()` once at the end of the current backward pass (DDP waits there)."""
    _final_callbacks.append(callback)


def _run_final_callbacks():
    while _final_callbacks:
        _final_callbacks.pop(0)()


def _post_accumulate(t):
    for hook in t.__dict__.get("_post_accumulate_grad_hooks", ()):
        hook(t)


def _accumulate(t, g, owned, root_grads):
    if t.grad is None:
        # A gradient array can be shared (Add passes one array to both inputs) or be a view
        # of another buffer; copy then, so in-place edits of one .grad never leak to another.
        if id(g) in owned or getattr(g, "base", None) is not None or \
                any(g is r for r in root_grads):
            g = g.copy()
        owned.add(id(g))
        t.grad = _wrap(g)
    else:
        t.grad._data = t.grad._data + g


def _wrap(array):
    return Tensor._make(array, False)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Computes gradients of `tensors` w.r.t. graph leaves (torch.autograd.backward)."""
    if create_graph:
        raise NotImplementedError("dynet does not support higher-order gradients "
                                  "(create_graph=True)")
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors]
    root_grads = [_root_grad(t, g) for t, g in zip(tensors, grad_tensors)]
    if inputs is None:
        run_backward(tensors, root_grads, bool(retain_graph))
        return
    # only these tensors get .grad, as PyTorch's backward(inputs=...)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    found = run_backward(tensors, root_grads, bool(retain_graph), inputs=inputs)
    owned = set()
    for t, g in zip(inputs, found):
        if g is not None:
            _accumulate(t, g, owned, root_grads)
            if t.grad_fn is None:
                _post_accumulate(t)
    _run_final_callbacks()


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Returns the gradients of `outputs` w.r.t. `inputs` without touching `.grad`."""
    if create_graph:
        raise NotImplementedError("dynet does not support higher-order gradients "
                                  "(create_graph=True)")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    root_grads = [_root_grad(t, g) for t, g in zip(outputs, grad_outputs)]
    found = run_backward(outputs, root_grads, bool(retain_graph), inputs=inputs)
    result = []
    for t, g in zip(inputs, found):
        if g is None and not allow_unused:
            raise RuntimeError("One of the differentiated Tensors appears to not have been "
                               "used in the graph. Set allow_unused=True if this is the "
                               "desired behavior.")
        result.append(None if g is None else _wrap(g))
    return tuple(result)


def _root_grad(t, g):
    if not t.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                           "grad_fn")
    if g is None:
        if t._data.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs "
                               f"(got output of shape {tuple(t.shape)})")
        return xp_of(t._data).ones_like(t._data)
    g = g._data if isinstance(g, Tensor) else xp_of(t._data).asarray(g, dtype=t._data.dtype)
    if g.shape != t._data.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {tuple(g.shape)} "
                           f"and output[0] has a shape of {tuple(t.shape)}.")
    if t.device != device_of(g):
        raise RuntimeError(f"gradient is on {device_of(g)} but the output is on {t.device}")
    return g


from ..tensor import Tensor  # noqa: E402
