"""Resampling: pixel_shuffle / pixel_unshuffle (pure reshapes and a permute)."""
from . import functions as _F


def _check_factor(name, what, factor, input):  # noqa: A002
    if input.ndim < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input "
                           f"with {input.ndim} dimension(s)")
    if int(factor) <= 0:
        raise RuntimeError(f"{name} expects a positive {what}, but got {factor}")
    return int(factor)


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    r = _check_factor("pixel_shuffle", "upscale_factor", upscale_factor, input)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    n = len(lead)
    x = _F.reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = _F.permute(x, (*range(n), n, n + 3, n + 1, n + 4, n + 2))
    return _F.reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W): the inverse of pixel_shuffle."""
    r = _check_factor("pixel_unshuffle", "downscale_factor", downscale_factor, input)
    *lead, c, h, w = input.shape
    for size, what, dim in ((h, "height", -2), (w, "width", -1)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {what} to be divisible by "
                               f"downscale_factor, but input.size({dim})={size} is not "
                               f"divisible by {r}")
    n = len(lead)
    x = _F.reshape(input, (*lead, c, h // r, r, w // r, r))
    x = _F.permute(x, (*range(n), n, n + 2, n + 4, n + 1, n + 3))
    return _F.reshape(x, (*lead, c * r * r, h // r, w // r))
