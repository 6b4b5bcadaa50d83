"""The backward engine: nodes in PyTorch's ready order (newest first), gradients in a dict.

The graph's vertices are Function nodes and leaf tensors. A node keeps each input as the
node that produced it (or the leaf tensor itself), captured when the op ran, so an in-place
op that later rebinds a tensor to a new node never changes what older nodes point to.
"""
from heapq import heappop, heappush

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


def run_backward(roots, root_grads, retain_graph=False, inputs=None):
    """Propagates `root_grads` (raw arrays) from the tensors `roots` back through the graph.

    Without `inputs`, gradients accumulate into `.grad` of leaves (and of tensors that
    called retain_grad()). With `inputs`, nothing is written; their gradients (raw arrays or
    None) are returned in order.

    Order: PyTorch's ready queue. Nodes come off a heap newest first by creation sequence
    (`Function._seq`); every consumer of a node was created after it, so by then each has
    sent its gradient. Leaves, which send nothing on, come after all nodes, in the order
    their first gradients arrived. No topological sort (bench/NOTES.md, "Dispatch, third
    pass").
    """
    grads = {}  # vertex -> gradient array; vertices hash by identity
    heap = []  # (-node._seq, node): sequence numbers are unique, so no tie compares nodes
    leaves = []
    for r, g in zip(roots, root_grads):
        v = _vertex(r)
        if v in grads:
            # the caller's gradient array must never become a leaf's .grad by aliasing
            grads[v] = grads[v] + g
        else:
            grads[v] = g
            if isinstance(v, Function):
                heappush(heap, (-v._seq, v))
            else:
                leaves.append(v)
    wanted = None if inputs is None else {_vertex(t) for t in inputs}
    captured = {}
    owned = set()  # ids of arrays already stored as a .grad in this pass
    pop, get = grads.pop, grads.get
    while heap:
        v = heappop(heap)[1]
        if v.released:
            raise RuntimeError(_RELEASED)
        g = pop(v)
        # a non-leaf tensor's hooks and retain_grad live on its node's owner (see Tensor)
        t = v._owner
        if t is not None:
            if t._backward_hooks:
                g = _run_hooks(t, g)
            if wanted is not None:
                if v in wanted:
                    captured[v] = g
            elif t._retains_grad:
                _accumulate(t, g, owned, root_grads)
        elif wanted is not None and v in wanted:
            captured[v] = g
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
            is_node = isinstance(p, Function)
            if is_node:
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
            if old is None:
                grads[p] = pg
                if is_node:
                    heappush(heap, (-p._seq, p))
                else:
                    leaves.append(p)
            else:
                grads[p] = old + pg
        if not retain_graph:  # Function.release, inline (once per node)
            v.__dict__.clear()
            v.saved_tensors = None
            v.released = True
    for t in leaves:
        g = pop(t)
        if t._backward_hooks:
            g = _run_hooks(t, g)
        if wanted is not None:
            if t in wanted:
                captured[t] = g
        else:
            _accumulate(t, g, owned, root_grads)
            _post_accumulate(t)
    _run_final_callbacks()
    if wanted is not None:
        return [captured.get(_vertex(t)) for t in inputs]
    return None


_final_callbacks = []


def _run_hooks(t, g):
    """The gradient `g` of tensor `t` after its register_hook hooks, in order (a hook that
    returns a tensor replaces the gradient for the hooks after it and for the graph)."""
    for hook in t._backward_hooks:
        new = hook(_wrap(g))
        if new is not None:
            g = new._data
    return g


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
