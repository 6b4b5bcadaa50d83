"""The two ops behind nn.Module's full backward hooks.

dynet Functions have one output, so "call the hook once with every input's gradient" is
built from two ops: a Gate joins the hooked tensors into one 0-d token, and a Tap per tensor
passes its value through as a child of the token. Every Tap is a consumer of the token, so
the engine runs all Taps' backward (filing each gradient) before the Gate's backward, which
then sees all gradients together, runs the hooks, and hands the (possibly replaced)
gradients on to the real tensors.
"""
from ..autograd.function import Function
from ..backend import xp_of


class HookGate(Function):
    @staticmethod
    def forward(ctx, *arrays, state, role):
        ctx.state, ctx.role, ctx.n = state, role, len(arrays)
        return xp_of(arrays[0]).zeros((), dtype=arrays[0].dtype)

    @staticmethod
    def backward(ctx, grad):
        return tuple(ctx.state.gate_backward(ctx.role, ctx.n))


class HookTap(Function):
    @staticmethod
    def forward(ctx, token, *, value, state, role, index):
        ctx.state, ctx.role, ctx.index, ctx.zero = state, role, index, token
        return value.view()

    @staticmethod
    def backward(ctx, grad):
        ctx.state.file(ctx.role, ctx.index, grad)
        return ctx.zero
