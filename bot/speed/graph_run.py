"""Rasa runs its model graph through dask's scheduler twice or more a turn (the parse, then one
prediction per action): each run rebuilds the minimal schema for its target, a dask graph, and
dask's task bookkeeping, for a graph that is a short chain. Here the order of the nodes a target
needs is worked out once per target, and the nodes are called in that order with their parents'
outputs, exactly as dask calls them (`GraphNode(*parent outputs)`, an input as `(name, value)`)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

NAME = "plain_graph_run"


def _order(runner: DaskGraphRunner, targets: Tuple[Text, ...]) -> List[Text]:
    """The nodes the targets need, each after the nodes it needs."""
    nodes = runner._graph_schema.nodes
    ordered: List[Text] = []
    seen: set = set()

    def visit(name: Text) -> None:
        if name in seen or name not in nodes:
            return
        seen.add(name)
        for need in nodes[name].needs.values():
            visit(need)
        ordered.append(name)

    for target in targets:
        visit(target)
    return ordered


def sequential_run(runner: DaskGraphRunner) -> Any:
    orders: Dict[Tuple[Text, ...], List[Text]] = {}
    nodes = runner._graph_schema.nodes
    stock_run = runner.run

    def run(inputs: Optional[Dict[Text, Any]] = None, targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
        wanted = tuple(targets if targets else runner._graph_schema.target_names)
        clash = any(isinstance(value, str) and value in nodes for value in (inputs or {}).values())
        if clash or any(t not in nodes for t in wanted):
            return stock_run(inputs, targets)  # dask's own answer to an unusual graph
        order = orders.get(wanted)
        if order is None:
            order = orders[wanted] = _order(runner, wanted)
        results: Dict[Text, Any] = {name: (name, value) for name, value in (inputs or {}).items()}
        try:
            for name in order:
                results[name] = runner._instantiated_nodes[name](
                    *(results.get(need, need) for need in nodes[name].needs.values()))
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        return dict(results[t] for t in wanted)

    return run


def install(agent: Any) -> None:
    runner = getattr(getattr(agent, "processor", None), "graph_runner", None)
    if isinstance(runner, DaskGraphRunner):
        runner.run = sequential_run(runner)
