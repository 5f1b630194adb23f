"""Answer scoring's forward passes, written for its shape: a prefix tree's few nodes against
each row's prompt.

For T5-family checkpoints both stacks run here, over the HF model's own modules and weights.
The encoder's linear layers and norms see only the prompts' real pieces, packed, never the
padding of a batch (11% of stsb's pieces in length-sorted batches of 16 STS-B pairs); only its
attention runs on the padded batch. The decoder runs a handful of nodes per row (3 for stsb,
1 for cola) against a prompt of tens of pieces, and two things follow from that shape:

- Cross-attention is computed without the keys and values of the prompt. A head's score is
  q·(E Wk)ᵀ = (q Wk)·Eᵀ and its output softmax(·)(E Wv) = (softmax(·) E) Wv, so each decoder
  node pays 2 x d_model x inner_dim per projection instead of each prompt piece paying it:
  with 3 nodes against a 40-piece prompt that is 13x less work, and the same numbers up to
  float rounding (the algebra MLA-style attention uses, applied to T5's weights).
- The tree's nodes share their ancestors (the start token is fed once, not once per branch),
  each at its own position, so the relative position bias is computed from those positions.

Other seq2seq architectures (mT5 among them) fall back to plain forward passes, one per
root-to-leaf path.
"""

from __future__ import annotations

from typing import Any

from synthgate.t5.prefix import PrefixTree

# The checkpoints whose blocks and output scaling decode.py follows. mT5 has the same blocks but
# its head's scaling differs between transformers releases, so it takes the plain passes.
T5_FAMILY = ("t5",)


def written_for(model: Any) -> bool:
    """Whether `model` runs through the forward passes written here: a T5 whose weights are
    all of one floating dtype (HF keeps some in float32 for float16 or quantised checkpoints,
    and casts between them; those take HF's own passes)."""
    if getattr(model.config, "model_type", None) not in T5_FAMILY:
        return False
    dtypes = {p.dtype for p in model.parameters()}
    return len(dtypes) == 1 and next(iter(dtypes)).is_floating_point


def encode(model: Any, inputs: Any, mask: Any) -> Any:
    """(B, T, d) encoder states of a padded batch (for the T5 family, zero at its padding)."""
    if not written_for(model):
        return model.get_encoder()(input_ids=inputs, attention_mask=mask).last_hidden_state
    encoder, real = model.encoder, mask.bool()
    hidden = encoder.embed_tokens(inputs[real])  # (M, d): the real pieces, packed
    attention = encoder.block[0].layer[0].SelfAttention
    width = inputs.shape[1]
    bias = attention.compute_bias(width, width, device=inputs.device).to(hidden.dtype)
    bias = bias + _additive(real[:, None, None, :], hidden.dtype)  # (B, H, T, T)
    for block in encoder.block:
        attention, feed_forward = block.layer
        hidden = hidden + _packed_self_attention(
            attention.SelfAttention, attention.layer_norm(hidden), real, bias
        )
        hidden = feed_forward(hidden)
    hidden = encoder.final_layer_norm(hidden)
    out = hidden.new_zeros(*inputs.shape, hidden.shape[-1])
    out[real] = hidden
    return out


def _packed_self_attention(attention: Any, x: Any, real: Any, bias: Any) -> Any:
    """Self-attention of packed pieces `x` (M, d) whose places in the padded batch are
    `real` (B, T): projections on the packed pieces, attention on the padded batch."""
    import torch

    rows, width = real.shape
    heads, size = attention.n_heads, attention.key_value_proj_dim

    def padded(proj: Any) -> Any:
        out = x.new_zeros(rows, width, heads * size)
        out[real] = proj(x)
        return out.view(rows, width, heads, size).transpose(1, 2)

    q, k, v = padded(attention.q), padded(attention.k), padded(attention.v)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
    return attention.o(out.transpose(1, 2)[real].reshape(-1, heads * size))


def answer_log_likelihoods(model: Any, states: Any, mask: Any, tree: PrefixTree) -> Any:
    """(B, n_answers) float32 answer log-likelihoods from encoder states (B, T, d) and their
    attention mask (B, T)."""
    import torch

    nodes, _ = tree.read_nodes()
    if written_for(model):
        hidden = t5_decoder(model, states, mask, tree)[:, nodes]
        if _scales_outputs(model.config):
            hidden = hidden * model.config.d_model**-0.5
        logits = model.lm_head(hidden)
    else:
        logits = _plain_decoder(model, states, mask, tree)[:, nodes]
    return tree.log_likelihoods(torch.log_softmax(logits.float(), dim=-1))


def _scales_outputs(config: Any) -> bool:
    """Whether the LM head sees the decoder's output times d_model ** -0.5, as Mesh TF does
    for tied embeddings (the flag's name in transformers 5; the tie itself before)."""
    return bool(getattr(config, "scale_decoder_outputs", config.tie_word_embeddings))


def t5_decoder(model: Any, states: Any, mask: Any, tree: PrefixTree) -> Any:
    """(B, N, d) final decoder hidden states at the tree's N nodes."""
    decoder = model.decoder
    hidden = decoder.embed_tokens(tree.tokens)[None].expand(states.shape[0], -1, -1)
    self_bias = _self_attention_bias(decoder.block[0].layer[0].SelfAttention, tree, states.dtype)
    cross_mask = _additive(mask[:, None, None, :].bool(), states.dtype)  # (B, 1, 1, T)
    for block in decoder.block:
        attention, cross, feed_forward = block.layer
        hidden = hidden + _self_attention(
            attention.SelfAttention, attention.layer_norm(hidden), self_bias
        )
        hidden = hidden + _cross_attention(
            cross.EncDecAttention, cross.layer_norm(hidden), states, cross_mask
        )
        hidden = feed_forward(hidden)  # T5LayerFF: norm, dense(-gated)-act-dense, residual
    return decoder.final_layer_norm(hidden)


def _additive(allowed: Any, dtype: Any) -> Any:
    """An additive attention mask: 0 where `allowed`, the dtype's lowest value elsewhere."""
    import torch

    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(
        ~allowed, torch.finfo(dtype).min
    )


def _self_attention_bias(attention: Any, tree: PrefixTree, dtype: Any) -> Any:
    """(1, H, N, N) T5's relative position bias between the nodes' positions, plus the mask
    that lets each node see its own prefixes only."""
    relative = tree.positions[None, :] - tree.positions[:, None]
    buckets = attention._relative_position_bucket(
        relative,
        bidirectional=not attention.is_decoder,
        num_buckets=attention.relative_attention_num_buckets,
        max_distance=attention.relative_attention_max_distance,
    )
    bias = attention.relative_attention_bias(buckets).permute(2, 0, 1)[None].to(dtype)
    return bias + _additive(tree.ancestors, dtype)


def _self_attention(attention: Any, x: Any, bias: Any) -> Any:
    """T5 self-attention of the nodes `x` (B, N, d) under `bias` (position bias + mask)."""
    import torch

    rows, n, _ = x.shape
    heads, width = attention.n_heads, attention.key_value_proj_dim
    q, k, v = (
        proj(x).view(rows, n, heads, width).transpose(1, 2)
        for proj in (attention.q, attention.k, attention.v)
    )
    # T5 does not scale its dot products: the scale is folded into its initialisation
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
    return attention.o(out.transpose(1, 2).reshape(rows, n, heads * width))


def _cross_attention(attention: Any, x: Any, states: Any, mask: Any) -> Any:
    """Cross-attention of the nodes `x` (B, N, d) over `states` (B, T, d) with each head's
    key and value projections moved to the query side (see the module docstring)."""
    import torch

    rows, n, d = x.shape
    heads, width = attention.n_heads, attention.key_value_proj_dim
    q = attention.q(x).view(rows, n, heads, width)
    wk = attention.k.weight.view(heads, width, d)
    wv = attention.v.weight.view(heads, width, d)
    q_states = torch.einsum("bnhk,hkd->bhnd", q, wk)  # (B, H, N, d)
    scores = q_states.reshape(rows, heads * n, d) @ states.transpose(1, 2)  # (B, H*N, T)
    weights = torch.softmax(scores.view(rows, heads, n, -1) + mask, dim=-1)
    mixed = (weights.view(rows, heads * n, -1) @ states).view(rows, heads, n, d)
    out = torch.einsum("bhnd,hkd->bnhk", mixed, wv).reshape(rows, n, heads * width)
    return attention.o(out)


def _plain_decoder(model: Any, states: Any, mask: Any, tree: PrefixTree) -> Any:
    """(B, N, V) logits at every node, from one ordinary decoder pass per root-to-leaf path."""
    import torch

    rows = states.shape[0]
    out = None
    for path in tree.paths():
        logits = model(
            encoder_outputs=(states,),
            attention_mask=mask,
            decoder_input_ids=tree.tokens[path][None].expand(rows, -1),
            use_cache=False,
        ).logits
        if out is None:
            out = torch.empty(rows, len(tree.tokens), logits.shape[-1], dtype=logits.dtype)
            out = out.to(logits.device)
        out[:, path] = logits
    return out
