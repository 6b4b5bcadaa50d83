"""Attention as PyTorch 2.13 computes it: scaled_dot_product_attention and the multi-head
forward behind nn.MultiheadAttention.

Both are compositions of existing differentiable ops (matmul, softmax, masked_fill,
dropout), so autograd, devices and dtypes come for free. Layout: heads live in a dimension
of their own, (N, H, L, D), so one batched matmul computes every head's scores. Masks
follow PyTorch's two conventions, which are opposite for booleans:
- scaled_dot_product_attention: a bool attn_mask is True where attention IS allowed;
- multi_head_attention_forward: a bool attn_mask / key_padding_mask is True where it is NOT.
Float masks are added to the scores in both. Rows with every key masked give 0 in
scaled_dot_product_attention and in the multi-head forward without need_weights (PyTorch's
_safe_softmax), NaN in the multi-head forward with need_weights (its plain softmax path).
"""
import math

from .. import creation, dtypes
from ..ops import functions as _F
from . import functional as F


def _neg_inf_where(mask, like):
    """A float bias of `like`'s dtype: -inf where `mask` is True, else 0."""
    zeros = creation.zeros(mask.shape, dtype=like.dtype, device=like.device)
    return zeros.masked_fill(mask, float("-inf"))


def _safe_softmax(scores):
    """softmax over the last dim; rows whose scores are all -inf give 0 instead of NaN.
    Those rows are zeroed before the softmax as well as after, so that no NaN reaches the
    backward pass either (selection, not multiplication by 0)."""
    dead = (scores == float("-inf")).all(dim=-1, keepdim=True)
    zero = creation.zeros((), dtype=scores.dtype, device=scores.device)
    out = F.softmax(_F.where(dead, zero, scores), dim=-1)
    return _F.where(dead, zero, out)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value over the last two dims, as torch's."""
    L, S, E = query.shape[-2], key.shape[-2], query.shape[-1]
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    if key.shape[-1] != E:
        raise RuntimeError(f"scaled_dot_product_attention: query and key must have the same "
                           f"embedding size, got query {tuple(query.shape)} and key "
                           f"{tuple(key.shape)}")
    if value.shape[-2] != S:
        raise RuntimeError(f"scaled_dot_product_attention: key and value must have the same "
                           f"sequence length, got key {tuple(key.shape)} and value "
                           f"{tuple(value.shape)}")
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError("Number of heads in key and value must divide the number of "
                               f"heads in query (query {hq}, key {hk}, value {hv})")
        key = key.repeat_interleave(hq // hk, dim=-3)
        value = value.repeat_interleave(hq // hv, dim=-3)
    factor = 1.0 / math.sqrt(E) if scale is None else scale
    scores = _F.matmul(query, key.transpose(-2, -1)) * factor
    if is_causal:
        allowed = creation.ones((L, S), dtype=dtypes.bool, device=query.device).tril()
        scores = scores.masked_fill(allowed.logical_not(), float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype.is_floating_point:
            scores = scores + attn_mask
        else:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
    weights = _safe_softmax(scores)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p, training=True)
    return _F.matmul(weights, value)


def _mha_bias(mask, like, name, n):
    """A float additive mask from a bool (True = masked out) or float one; None stays None."""
    if mask is None:
        return None
    if mask.dtype.is_floating_point:
        return mask.to(like.dtype) if mask.dtype != like.dtype else mask
    if mask.dtype.name != "bool":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return _neg_inf_where(mask, like)


def multi_head_attention(module, query, key, value, key_padding_mask, need_weights,
                         attn_mask, average_attn_weights, is_causal):
    """nn.MultiheadAttention's forward on (N, L, E) batch-first inputs; returns
    (output (N, L, E), weights (N, L, S) / (N, H, L, S) or None)."""
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    E, H = module.embed_dim, module.num_heads
    N, L = query.shape[0], query.shape[1]
    if query.shape[-1] != E:
        raise AssertionError(f"was expecting embedding dimension of {E}, but got "
                             f"{query.shape[-1]}")
    if key.shape[:2] != value.shape[:2]:
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")
    q, k, v = _project(module, query, key, value)
    S = k.shape[1]
    if attn_mask is not None:
        want = (L, S) if attn_mask.dim() == 2 else (N * H, L, S)
        if attn_mask.dim() not in (2, 3) or tuple(attn_mask.shape) != want:
            raise RuntimeError(f"The shape of the {attn_mask.dim()}D attn_mask is "
                               f"{attn_mask.shape}, but should be {want}.")
    if key_padding_mask is not None and tuple(key_padding_mask.shape) != (N, S):
        raise AssertionError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                             f"{key_padding_mask.shape}")
    attn_bias = _mha_bias(attn_mask, q, "attn_mask", N)
    pad_bias = _mha_bias(key_padding_mask, q, "key_padding_mask", N)
    if module.bias_k is not None:  # one more key/value position, never masked
        k = _F.cat([k, module.bias_k.expand(N, 1, E)], dim=1)
        v = _F.cat([v, module.bias_v.expand(N, 1, E)], dim=1)
        attn_bias = None if attn_bias is None else F.pad(attn_bias, (0, 1))
        pad_bias = None if pad_bias is None else F.pad(pad_bias, (0, 1))
    D = E // H
    q = q.reshape(N, L, H, D).transpose(1, 2)
    k = k.reshape(N, k.shape[1], H, D).transpose(1, 2)
    v = v.reshape(N, v.shape[1], H, D).transpose(1, 2)
    if module.add_zero_attn:
        zeros = creation.zeros((N, H, 1, D), dtype=q.dtype, device=q.device)
        k, v = _F.cat([k, zeros], dim=2), _F.cat([v, zeros], dim=2)
        attn_bias = None if attn_bias is None else F.pad(attn_bias, (0, 1))
        pad_bias = None if pad_bias is None else F.pad(pad_bias, (0, 1))
    scores = _F.matmul(q * (1.0 / math.sqrt(D)), k.transpose(-2, -1))  # (N, H, L, S')
    if attn_bias is not None:
        s2 = attn_bias.shape[-1]
        scores = scores + (attn_bias if attn_bias.dim() == 2 else
                           attn_bias.reshape(N, H, L, s2))
    if pad_bias is not None:
        scores = scores + pad_bias.reshape(N, 1, 1, pad_bias.shape[-1])
    # PyTorch's need_weights=False path runs through scaled_dot_product_attention
    weights = F.softmax(scores, dim=-1) if need_weights else _safe_softmax(scores)
    if module.dropout > 0.0 and module.training:
        weights = F.dropout(weights, module.dropout, training=True)
    out = _F.matmul(weights, v).transpose(1, 2).reshape(N, L, E)
    out = module.out_proj(out)
    if not need_weights:
        return out, None
    return out, (weights.mean(dim=1) if average_attn_weights else weights)


def _project(module, query, key, value):
    """The q, k, v input projections; self-attention takes one matmul for all three."""
    E = module.embed_dim
    b = module.in_proj_bias
    bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
    if module._qkv_same_embed_dim:
        w = module.in_proj_weight
        if query is key and key is value:
            return F.linear(query, w, b).chunk(3, dim=-1)
        return (F.linear(query, w[:E], bq), F.linear(key, w[E:2 * E], bk),
                F.linear(value, w[2 * E:], bv))
    return (F.linear(query, module.q_proj_weight, bq), F.linear(key, module.k_proj_weight, bk),
            F.linear(value, module.v_proj_weight, bv))
