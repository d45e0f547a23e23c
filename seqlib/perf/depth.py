"""Critical-path length of a computation, read from its autograd graph.

"Sequential steps" in Vaswani et al.'s table is the length of the longest chain of operations
that must run one after another. PyTorch records that chain: every operation of a forward pass
leaves a node in the autograd graph (``tensor.grad_fn``) whose ``next_functions`` point to the
nodes it read. The longest path from the output's node down to the leaves is the forward pass's
critical path, counted in operations (:func:`autograd_depth`). It is exact and machine-free: a
recurrent layer's grows by a fixed number of operations per time step, O(T); an attention layer's
does not depend on T, O(1).

The count depends on how a layer is written (a fused kernel is one node), so compare layers
written the same way: `seqlib`'s LSTM and encoder layer both use plain tensor operations.
"""
from __future__ import annotations

import torch


def autograd_depth(output: torch.Tensor) -> int:
    """The number of operations on the longest chain from ``output`` back to the inputs.

    Walks ``output.grad_fn`` and its ``next_functions`` (iteratively: a recurrent graph is
    thousands of nodes deep). Leaf accumulators (``AccumulateGrad``) are not operations and
    count 0. A tensor with no ``grad_fn`` (a leaf, or computed without grad) has depth 0.
    """
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"autograd_depth: expected a tensor, got {type(output).__name__}")
    root = output.grad_fn
    if root is None:
        return 0
    depth: dict = {}
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if node in depth:
            continue
        children = [n for n, _ in node.next_functions if n is not None]
        if expanded:
            own = 0 if type(node).__name__ == "AccumulateGrad" else 1
            depth[node] = own + max((depth[c] for c in children), default=0)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if c not in depth)
    return depth[root]
