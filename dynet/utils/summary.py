"""summary(model, input_size): a torchsummary-style table of layers, shapes and parameters.

Both common conventions for `input_size` work: torchsummary's, without the batch dimension
((1, 28, 28)), and torchinfo's, with it ((64, 1, 28, 28)).
"""
from collections import OrderedDict

from .. import creation
from .. import dtypes as _dtypes
from ..autograd import grad_mode
from ..tensor import Tensor

__all__ = ["summary"]

_WIDTH = 64


def _shape(output, batch_size):
    """[batch_size, ...] for a tensor; a list of those for a tuple/list of tensors."""
    if isinstance(output, Tensor):
        return [batch_size] + list(output.shape)[1:]
    if isinstance(output, (list, tuple)):
        return [_shape(o, batch_size) for o in output if isinstance(o, (Tensor, list, tuple))]
    return []


def _sample_bytes(output):
    """Bytes of one sample of a layer's output (all tensors of a tuple output)."""
    if isinstance(output, Tensor):
        n = output.numel() // output.shape[0] if output.ndim and output.shape[0] else 0
        return n * output.element_size()
    if isinstance(output, (list, tuple)):
        return sum(_sample_bytes(o) for o in output)
    return 0


def _input_sizes(input_size):
    if isinstance(input_size, tuple) or (input_size and isinstance(input_size[0], int)):
        return [tuple(input_size)]
    return [tuple(s) for s in input_size]


def _model_device(model):
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return "cpu"


def _trace(model, sizes, dtype_list, device, has_batch, batch_size):
    """Runs one forward pass and returns {layer name: (shape, own params, sample bytes)}."""
    from ..nn.containers import ModuleList, Sequential  # nn is a higher layer than utils

    rows = OrderedDict()

    def hook(module, args, output):
        own = [p for p in module._parameters.values() if p is not None]
        rows[f"{type(module).__name__}-{len(rows) + 1}"] = (
            _shape(output, batch), sum(p.numel() for p in own), _sample_bytes(output))

    batch = sizes[0][0] if has_batch else batch_size
    hooks = [m.register_forward_hook(hook) for m in model.modules()
             if m is not model and not isinstance(m, (Sequential, ModuleList))]
    # a batch of 2, as torchsummary uses, so training-mode BatchNorm would work as well
    lead = () if has_batch else (2,)
    inputs = [creation.rand(*lead, *s, dtype=dt, device=device) if dt.is_floating_point
              else creation.zeros(*lead, *s, dtype=dt, device=device)
              for s, dt in zip(sizes, dtype_list)]
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()  # no running-statistics updates or dropout draws as a side effect
        with grad_mode.no_grad():
            model(*inputs)
    finally:
        for h in hooks:
            h.remove()
        for m, mode in modes:
            m.training = mode
    return rows


_AUTO = object()


def summary(model, input_size, device=None, batch_size=-1, dtypes=None, batch_dim=_AUTO):
    """Prints and returns a table of each layer's output shape and parameter count.

    Args:
        model: the Module to describe.
        input_size: one input shape, or a list of shapes for a model with several inputs.
            Either without the batch dimension, as torchsummary takes it, e.g. (1, 28, 28),
            or with it, as torchinfo takes it, e.g. (64, 1, 28, 28).
        device: where the forward pass runs (default: the model's device).
        batch_size: the batch size shown in the table for shapes given without a batch
            dimension (default -1, shown as -1 and sizes per sample, as torchsummary).
        dtypes: the inputs' dtypes (default float32; floating inputs are uniform in [0, 1),
            integer inputs zeros).
        batch_dim: 0 means `input_size` leaves the batch dimension out; None means it
            includes it (torchinfo's `batch_dim=None`). By default both are tried: the
            shapes without a batch dimension first, and, when that forward pass fails,
            the shapes as given, with their first dimension as the batch.

    The forward pass runs under no_grad in eval mode; training flags are restored
    afterwards. Totals count each parameter of the model once.
    """
    sizes = _input_sizes(input_size)
    dtype_list = [_dtypes.float32] * len(sizes) if dtypes is None else \
        [_dtypes.get_dtype(d) for d in dtypes]
    if len(dtype_list) != len(sizes):
        raise ValueError(f"summary() got {len(sizes)} input sizes but {len(dtype_list)} "
                         "dtypes")
    if batch_dim not in (_AUTO, None, 0):
        raise ValueError(f"summary(): batch_dim must be 0 or None, got {batch_dim!r}")
    device = _model_device(model) if device is None else device
    has_batch = batch_dim is None
    try:
        rows = _trace(model, sizes, dtype_list, device, has_batch, batch_size)
    except Exception as first:
        # torchinfo's convention: a shape with the batch in it fails with one more dim
        # prepended (e.g. conv2d on 5-D input); run it as given instead
        if batch_dim is not _AUTO or not all(sizes):
            raise
        try:
            rows = _trace(model, sizes, dtype_list, device, True, batch_size)
        except Exception:
            raise first from None  # neither reading works: report the torchsummary one
        has_batch = True
    if has_batch:
        batch_size = sizes[0][0]
        sizes = [s[1:] for s in sizes]

    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    # sizes as torchsummary reports them: per sample when batch_size is -1, and the
    # activations counted twice (forward values and their gradients)
    scale = abs(batch_size)
    mb = 1024.0 ** 2
    input_mb = scale * sum(_prod(s) * dt.itemsize for s, dt in zip(sizes, dtype_list)) / mb
    output_mb = scale * 2.0 * sum(r[2] for r in rows.values()) / mb
    params_mb = sum(p.numel() * p.element_size() for p in params) / mb

    name_width = max([20] + [len(k) for k in rows])
    shape_width = max([25] + [len(str(r[0])) for r in rows.values()])
    lines = ["-" * _WIDTH,
             f"{'Layer (type)':>{name_width}}  {'Output Shape':>{shape_width}} "
             f"{'Param #':>15}",
             "=" * _WIDTH]
    for key, (shape, n, _) in rows.items():
        lines.append(f"{key:>{name_width}}  {str(shape):>{shape_width}} {n:>15,}")
    lines += ["=" * _WIDTH,
              f"Total params: {total:,}",
              f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              "-" * _WIDTH,
              f"Input size (MB): {input_mb:0.2f}",
              f"Forward/backward pass size (MB): {output_mb:0.2f}",
              f"Params size (MB): {params_mb:0.2f}",
              f"Estimated Total Size (MB): {input_mb + output_mb + params_mb:0.2f}",
              "-" * _WIDTH]
    text = "\n".join(lines)
    print(text)
    return text


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n
