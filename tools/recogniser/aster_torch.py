"""AsterNet's ONNX graph as a trainable PyTorch module, and trained weights written back.

The ``asterocr`` wheel (MIT) ships AsterNet only as ONNX (``assets/asternet.onnx``,
exported by PyTorch 2.5.1, opset 17). :func:`load_trainable` turns it into a
``torch.fx.GraphModule`` with ``onnx2torch`` (Apache-2.0), after two things
onnx2torch 1.5.15 cannot convert are dealt with:

- the three ``If`` nodes, which are PyTorch's export of ``tensor.squeeze(dim)``
  on a dynamic shape ("squeeze when that dimension is 1"); in AsterNet the
  dimension is always 1 (the backbone's feature height for a 32-pixel input,
  and the packed-projection axis of ``nn.MultiheadAttention``), so each is
  replaced by its ``then`` branch, a plain ``Squeeze`` (:func:`resolve_squeeze_ifs`);
- the two bidirectional ``LSTM`` nodes, converted here to ``torch.nn.LSTM``
  with the gates reordered (ONNX stores them ``i, o, f, c``, PyTorch
  ``i, f, g, o``) and the two bias vectors split (:class:`OnnxLSTM`).

onnx2torch keeps the graph's other initializers (the ``MatMul`` weights of the
attention, feed-forward, fusion and classifier layers) as buffers;
:func:`load_trainable` makes the floating-point ones parameters, except the
sinusoidal position table.

:func:`write_back` is the inverse: it copies every trained tensor into the
original ONNX graph's initializer of the same role, so the exported model is
AsterNet's own graph (same input ``images (N, 3, 32, W)``, output
``log_probs (W/4, N, 227)``, alphabet ``vocab.json``) with new weights, read
by :class:`app.ocr.aster.AsterRecognizer` unchanged.

Needs the training extras (``requirements-train.txt``: torch, onnx, onnx2torch);
nothing under ``app/`` imports this module.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np


def _torchvision_placeholder() -> None:
    """onnx2torch imports ``torchvision`` at import time for its NMS and RoIAlign
    converters only (AsterNet has neither). PyPI's torchvision wheels are built
    against PyPI's CUDA torch and do not load next to the CPU build the trainer
    pins, so when torchvision is absent a placeholder module whose two functions
    raise is put in its place before onnx2torch is imported."""
    if "torchvision" in sys.modules:
        return
    try:
        import torchvision  # noqa: F401
        return
    except Exception:  # absent, or a build that does not match this torch
        sys.modules.pop("torchvision", None)
    tv, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")

    def missing(*_args, **_kwargs):
        raise NotImplementedError("torchvision is not installed (not needed to convert AsterNet)")

    ops.nms = ops.roi_align = ops.box_convert = missing
    tv.ops = ops
    sys.modules["torchvision"], sys.modules["torchvision.ops"] = tv, ops


def resolve_squeeze_ifs(model) -> int:
    """Replace each ``If`` whose ``then`` branch is ``Constant(axes) -> Squeeze`` and whose
    ``else`` branch is ``Identity`` by that ``Squeeze`` (in place).

    Args:
        model: ``onnx.ModelProto``.

    Returns:
        How many ``If`` nodes were replaced.

    Raises:
        ValueError: an ``If`` node of another shape (the graph is not the one this was written for).
    """
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    replaced = 0
    for index, node in enumerate(list(graph.node)):
        if node.op_type != "If":
            continue
        branches = {a.name: a.g for a in node.attribute}
        then, other = branches.get("then_branch"), branches.get("else_branch")
        kinds = [n.op_type for n in then.node] if then is not None else []
        if kinds != ["Constant", "Squeeze"] or other is None or [n.op_type for n in other.node] != ["Identity"]:
            raise ValueError(f"If node {node.name!r} is not a squeeze-when-one (then: {kinds})")
        axes = numpy_helper.to_array(then.node[0].attribute[0].t)
        source = then.node[1].input[0]
        if other.node[0].input[0] != source:
            raise ValueError(f"If node {node.name!r}: branches read different tensors")
        axes_name = f"{node.name}/squeeze_axes"
        graph.initializer.append(numpy_helper.from_array(axes.astype(np.int64), axes_name))
        squeeze = helper.make_node("Squeeze", [source, axes_name], list(node.output), name=f"{node.name}/Squeeze")
        position = list(graph.node).index(node)
        graph.node.remove(node)
        graph.node.insert(position, squeeze)
        replaced += 1
    onnx.checker.check_model(model)
    return replaced


# ONNX LSTM gate blocks are (i, o, f, c); PyTorch's are (i, f, g=c, o).
_ONNX_TO_TORCH_GATES = (0, 2, 3, 1)
_TORCH_TO_ONNX_GATES = (0, 3, 1, 2)


def _reorder(w: np.ndarray, order, hidden: int) -> np.ndarray:
    return np.concatenate([w[k * hidden : (k + 1) * hidden] for k in order], axis=0)


def _register_lstm_converter() -> None:
    import torch
    from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY, OperationDescription, add_converter
    from onnx2torch.utils.common import OnnxMapping, OperationConverterResult

    if OperationDescription(domain="", operation_type="LSTM", version=14) in _CONVERTER_REGISTRY:
        return

    class OnnxLSTM(torch.nn.Module):
        """ONNX ``LSTM`` (bidirectional, zero or given initial state, no sequence lengths)
        as ``torch.nn.LSTM``; outputs in ONNX layouts: ``Y (T, 2, N, H)``, ``Y_h``, ``Y_c (2, N, H)``."""

        def __init__(self, w, r, b, hidden: int, names: tuple[str, str, str]):
            super().__init__()
            self.hidden = hidden
            self.onnx_names = names  # W, R, B initializers (for write_back)
            self.lstm = torch.nn.LSTM(w.shape[2], hidden, num_layers=1, bidirectional=True)
            with torch.no_grad():
                for d, suffix in enumerate(("", "_reverse")):
                    getattr(self.lstm, f"weight_ih_l0{suffix}").copy_(torch.from_numpy(_reorder(w[d], _ONNX_TO_TORCH_GATES, hidden)))
                    getattr(self.lstm, f"weight_hh_l0{suffix}").copy_(torch.from_numpy(_reorder(r[d], _ONNX_TO_TORCH_GATES, hidden)))
                    wb, rb = b[d, : 4 * hidden], b[d, 4 * hidden :]
                    getattr(self.lstm, f"bias_ih_l0{suffix}").copy_(torch.from_numpy(_reorder(wb, _ONNX_TO_TORCH_GATES, hidden)))
                    getattr(self.lstm, f"bias_hh_l0{suffix}").copy_(torch.from_numpy(_reorder(rb, _ONNX_TO_TORCH_GATES, hidden)))

        def forward(self, x, initial_h=None, initial_c=None):
            state = None if initial_h is None else (initial_h, initial_c)
            y, (h, c) = self.lstm(x, state)
            t, n, _ = y.shape
            y = y.view(t, n, 2, self.hidden).permute(0, 2, 1, 3)  # (T, dirs, N, H)
            return y, h, c

        def onnx_weights(self) -> dict[str, np.ndarray]:
            """The ``W``, ``R``, ``B`` initializers for the current weights."""
            w, r, b = [], [], []
            for suffix in ("", "_reverse"):
                get = lambda name: getattr(self.lstm, f"{name}_l0{suffix}").detach().cpu().numpy()
                w.append(_reorder(get("weight_ih"), _TORCH_TO_ONNX_GATES, self.hidden))
                r.append(_reorder(get("weight_hh"), _TORCH_TO_ONNX_GATES, self.hidden))
                b.append(np.concatenate([_reorder(get("bias_ih"), _TORCH_TO_ONNX_GATES, self.hidden),
                                         _reorder(get("bias_hh"), _TORCH_TO_ONNX_GATES, self.hidden)]))
            names = self.onnx_names
            return {names[0]: np.stack(w), names[1]: np.stack(r), names[2]: np.stack(b)}

    @add_converter(operation_type="LSTM", version=14)
    def _convert(node, graph):
        attrs = node.attributes
        if attrs.get("direction") not in ("bidirectional", b"bidirectional") or attrs.get("layout", 0) != 0:
            raise NotImplementedError("only bidirectional LSTM, layout 0")
        inputs = list(node.input_values) + [""] * (7 - len(node.input_values))
        if inputs[4]:
            raise NotImplementedError("LSTM sequence_lens is not supported")
        names = (inputs[1], inputs[2], inputs[3])
        w, r, b = (graph.initializers[n].to_numpy() for n in names)
        module = OnnxLSTM(w, r, b, int(attrs["hidden_size"]), names)
        mapped = (inputs[0],) + tuple(v for v in inputs[5:7] if v)
        return OperationConverterResult(torch_module=module, onnx_mapping=OnnxMapping(inputs=mapped, outputs=node.output_values))


def load_trainable(onnx_path: Path):
    """AsterNet's ONNX file as a trainable ``torch.fx.GraphModule``.

    Args:
        onnx_path: ``asternet.onnx`` (or a model written by :func:`write_back`).

    Returns:
        ``(module, onnx_model)``: the module maps ``images (N, 3, 32, W)``
        float32 in ``[0, 1]`` to ``log_probs (W/4, N, C)``; ``onnx_model`` is the
        loaded ``onnx.ModelProto`` (unchanged) to pass to :func:`write_back`.
        ``module.meta["onnx_parameter_names"]`` maps each trainable parameter's
        name to the ONNX initializer it came from.

    Raises:
        ValueError: the graph has ``If`` nodes this module does not know.
        NotImplementedError: onnx2torch cannot convert one of its nodes.
    """
    import copy

    import onnx
    import torch

    _torchvision_placeholder()
    import onnx2torch

    _register_lstm_converter()
    original = onnx.load(str(onnx_path))
    model = copy.deepcopy(original)
    resolve_squeeze_ifs(model)
    module = onnx2torch.convert(model, attach_onnx_mapping=True)

    # Which ONNX initializer each buffer of the initializer container holds: the call
    # that reads it names it in its onnx_mapping at the same argument position.
    buffer_source: dict[str, str] = {}
    for node in module.graph.nodes:
        if node.op != "get_attr":
            continue
        for user in node.users:
            if user.op != "call_module":
                continue
            mapping = getattr(module.get_submodule(user.target), "onnx_mapping", None)
            if mapping is None or node not in user.args:
                continue
            buffer_source[node.target] = mapping.inputs[user.args.index(node)]
    container = module.get_submodule("initializers")
    names: dict[str, str] = {}
    for target, onnx_name in buffer_source.items():
        attr = target.split(".", 1)[1]
        tensor = getattr(container, attr)
        if not torch.is_floating_point(tensor) or onnx_name.endswith(".pe"):
            continue  # integer shapes, and the fixed sinusoidal position table
        delattr(container, attr)
        container.register_parameter(attr, torch.nn.Parameter(tensor.clone()))
        names[target] = onnx_name
    from onnx2torch.onnx_graph import OnnxGraph

    onnx_nodes = {OnnxGraph.generate_node_name(n): n for n in model.graph.node}
    for mod_name, sub in module.named_modules():
        if isinstance(sub, (torch.nn.Conv2d, torch.nn.LayerNorm, torch.nn.Linear)) and mod_name in onnx_nodes:
            node = onnx_nodes[mod_name]
            for p_name, position in (("weight", 1), ("bias", 2)):
                if getattr(sub, p_name, None) is not None and len(node.input) > position:
                    names[f"{mod_name}.{p_name}"] = node.input[position]
    module.meta["onnx_parameter_names"] = names  # GraphModule.meta survives copy.deepcopy
    return module, original


def write_back(module, onnx_model, path: Path) -> dict[str, int]:
    """Save ``onnx_model`` with ``module``'s trained weights in its initializers.

    Args:
        module: from :func:`load_trainable`, trained.
        onnx_model: the ``onnx.ModelProto`` :func:`load_trainable` returned.
        path: where to write the ``.onnx`` file.

    Returns:
        ``{"initializers": n}``: how many initializers were replaced.

    Raises:
        ValueError: a tensor's shape differs from its initializer's.
    """
    import copy

    import onnx
    from onnx import numpy_helper

    values: dict[str, np.ndarray] = {}
    params = dict(module.named_parameters())
    for p_name, onnx_name in module.meta["onnx_parameter_names"].items():
        values[onnx_name] = params[p_name].detach().cpu().numpy()
    for sub in module.modules():
        if hasattr(sub, "onnx_weights"):
            values.update(sub.onnx_weights())
    out = copy.deepcopy(onnx_model)
    replaced = 0
    for i, init in enumerate(out.graph.initializer):
        if init.name not in values:
            continue
        old = numpy_helper.to_array(init)
        new = values[init.name].astype(old.dtype)
        if new.shape != old.shape:
            raise ValueError(f"{init.name}: trained shape {new.shape} != ONNX shape {old.shape}")
        out.graph.initializer[i].CopyFrom(numpy_helper.from_array(new, init.name))
        replaced += 1
    onnx.save(out, str(path))
    return {"initializers": replaced}


#: Where :func:`split` may cut AsterNet (ONNX tensor names; the outputs of these nodes):
#: ``backbone``: the convolutional features ``(T, N, 512)`` going into the BiLSTM;
#: ``sequence``: the BiLSTM's output ``(T, N, 512)``, read by the transformer and the fusion gate.
CUTS = {
    "backbone": ("/backbone/Transpose",),
    "sequence": ("/sequence/lstm/Reshape_1",),
}


def split(module, cut: str):
    """Cut the converted graph in two at ``CUTS[cut]``.

    Args:
        module: from :func:`load_trainable`.
        cut: a key of :data:`CUTS`.

    Returns:
        ``(prefix, suffix)`` ``torch.fx.GraphModule`` objects sharing ``module``'s
        parameters: ``prefix(images) -> features`` and
        ``suffix(features) -> log_probs``, so that
        ``suffix(prefix(x)) == module(x)``. Caching ``prefix``'s output and training
        ``suffix`` is what makes training on CPU affordable.

    Raises:
        KeyError: unknown cut. ValueError: the suffix still needs the images.
    """
    import copy

    from torch import fx

    from onnx import helper
    from onnx2torch.onnx_graph import OnnxGraph

    # onnx2torch names each submodule after its ONNX node (OnnxGraph.generate_node_name).
    targets = {OnnxGraph.generate_node_name(helper.make_node("Identity", [], [], name=n)) for n in CUTS[cut]}

    def find(graph):
        found = [n for n in graph.nodes if n.op == "call_module" and n.target in targets]
        if len(found) != len(targets):
            raise KeyError(f"cut {cut!r}: nodes {sorted(targets)} not all in the graph")
        return found[0]

    pre = copy.deepcopy(module.graph)
    node = find(pre)
    for out in [n for n in pre.nodes if n.op == "output"]:
        pre.erase_node(out)
    pre.output(node)
    prefix = fx.GraphModule(module, pre)
    prefix.graph.eliminate_dead_code()
    prefix.recompile()
    prefix.delete_all_unused_submodules()

    post = copy.deepcopy(module.graph)
    node = find(post)
    images = next(n for n in post.nodes if n.op == "placeholder")
    with post.inserting_after(images):
        features = post.placeholder("features")
    node.replace_all_uses_with(features)
    suffix = fx.GraphModule(module, post)
    suffix.graph.eliminate_dead_code()
    if images.users:
        raise ValueError(f"cut {cut!r}: the rest of the graph still reads the images")
    suffix.graph.erase_node(images)
    suffix.recompile()
    suffix.delete_all_unused_submodules()
    return prefix, suffix


def graph_parameters(module) -> list:
    """The parameters a ``torch.fx.GraphModule``'s graph actually reads (its submodules'
    and its ``get_attr`` tensors), in graph order, each once. ``module.parameters()``
    can list more: :func:`split`'s halves keep references to tensors the other half uses."""
    import torch

    out, seen = [], set()
    for node in module.graph.nodes:
        if node.op == "call_module":
            params = list(module.get_submodule(node.target).parameters())
        elif node.op == "get_attr":
            value = module.get_parameter(node.target) if isinstance(
                _resolve(module, node.target), torch.nn.Parameter) else None
            params = [value] if value is not None else []
        else:
            continue
        for p in params:
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def _resolve(module, target: str):
    obj = module
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj
