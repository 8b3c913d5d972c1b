"""Lexicographic minimum-cost flow on OR-Tools, with our own optimality certificates.

An objective such as "as many students as possible, then as many 1st choices, then as many 2nd ..."
is a list of cost *levels*, most important first. Weighting the levels by powers of the student count
and adding them up overflows 64-bit integers after three or four levels, so the levels are solved in
rounds: each round packs as many levels as the integer range allows into one weighted cost, solves
it, and then restricts the network to the *optimal face* of that round before the next one.

The face comes from linear-programming duality. After an optimal round we compute node potentials
(shortest-path distances on the residual network, by Bellman-Ford) so that every residual arc has a
non-negative reduced cost. Then every optimal flow of that round (complementary slackness):
  - carries nothing on an arc whose reduced cost is positive: the arc is deleted;
  - fills an arc whose reduced cost is negative: its flow is fixed and moved into the node supplies.
Arcs with reduced cost zero stay free. The flows left are exactly the optimal flows of the round, so
the next round optimises its levels among them, and the last round's result is the lexicographic
optimum. The same potentials are the proof: a residual network with no negative reduced cost has no
negative cycle, so the flow is optimal whatever the solver says. OR-Tools does not expose its own
potentials, hence the Bellman-Ford.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

# OR-Tools scales costs by (number of nodes + 1) inside its cost-scaling algorithm and refuses costs
# whose scaled magnitude would overflow int64; keep a factor of two in hand below that.
SAFE_MAGNITUDE = 2**62


@dataclass(frozen=True)
class Network:
    """A flow network whose arc costs come in lexicographic levels (index 0 is the most important)."""

    num_nodes: int
    tails: np.ndarray  # int32, one entry per arc
    heads: np.ndarray  # int32
    capacities: np.ndarray  # int64
    supplies: np.ndarray  # int64, one entry per node (positive: supply; negative: demand)
    levels: tuple[np.ndarray, ...]  # int64 cost per arc, one array per level
    # For each level, an upper bound on (largest - smallest) total cost of that level over all
    # feasible flows: what the level below must stay under for the weighting to be lexicographic.
    spans: tuple[int, ...]


@dataclass(frozen=True)
class FlowOutcome:
    status: str  # "optimal" (proven by the certificate), "infeasible" or "error"
    flows: np.ndarray | None
    rounds: int
    solver_seconds: float
    message: str = ""


def _pack(levels: list[int], spans, max_costs, num_nodes: int, limit: int) -> list[int]:
    """Weights for the longest run of ``levels`` (at most ``limit``) whose combined cost stays in the
    safe range."""
    chosen = [levels[0]]
    best = [1]
    for end in range(2, min(len(levels), limit) + 1):
        run = levels[:end]
        weights = [0] * len(run)
        below = 0  # the largest swing the levels under this one can make, already weighted
        for k in range(len(run) - 1, -1, -1):
            weights[k] = below + 1
            below += weights[k] * spans[run[k]]
        magnitude = sum(w * max_costs[level] for w, level in zip(weights, run))
        if magnitude * (num_nodes + 1) > SAFE_MAGNITUDE or below > SAFE_MAGNITUDE:
            break
        chosen, best = run, weights
    return best if len(chosen) > 1 else [1]


def residual_potentials(num_nodes, tails, heads, capacities, flows, costs) -> np.ndarray | None:
    """Node potentials under which no residual arc has a negative reduced cost, or None when the
    residual network has a negative cycle (the flow is then not optimal).

    Bellman-Ford from a virtual root joined to every node at cost 0, vectorised: each pass relaxes
    only the arcs leaving nodes whose distance fell in the previous pass.
    """
    forward = flows < capacities
    backward = flows > 0
    rt = np.concatenate([tails[forward], heads[backward]])
    rh = np.concatenate([heads[forward], tails[backward]])
    rc = np.concatenate([costs[forward], -costs[backward]])
    dist = np.zeros(num_nodes, dtype=np.int64)
    changed = np.ones(num_nodes, dtype=bool)
    for _ in range(num_nodes + 1):
        live = changed[rt]
        t, h, c = rt[live], rh[live], rc[live]
        candidate = dist[t] + c
        better = candidate < dist[h]
        if not better.any():
            return dist
        before = dist.copy()
        np.minimum.at(dist, h[better], candidate[better])
        changed = dist < before
    return None


def solve_lexicographic(network: Network) -> FlowOutcome:
    """Minimise the network's cost levels lexicographically; the flow of the last round, certified."""
    started = time.perf_counter()
    n_arcs = len(network.tails)
    tails = network.tails.astype(np.int32)
    heads = network.heads.astype(np.int32)
    caps = network.capacities.astype(np.int64)
    supplies = network.supplies.astype(np.int64).copy()
    active = caps > 0
    fixed_flow = np.zeros(n_arcs, dtype=np.int64)
    max_costs = [int(np.abs(level).max()) if n_arcs else 0 for level in network.levels]
    for level, biggest in enumerate(max_costs):
        if biggest * (network.num_nodes + 1) > SAFE_MAGNITUDE:
            return FlowOutcome("error", None, 0, time.perf_counter() - started,
                               f"The costs of level {level} are too large for 64-bit arithmetic.")

    todo = list(range(len(network.levels)))
    rounds = 0
    flows = np.zeros(n_arcs, dtype=np.int64)
    limit = len(todo)
    while todo:
        weights = _pack(todo, network.spans, max_costs, network.num_nodes, limit)
        run, todo = todo[:len(weights)], todo[len(weights):]
        costs = np.zeros(n_arcs, dtype=np.int64)
        for w, level in zip(weights, run):
            costs += np.int64(w) * network.levels[level]

        index = np.flatnonzero(active)
        solver = min_cost_flow.SimpleMinCostFlow()
        if len(index):
            solver.add_arcs_with_capacity_and_unit_cost(tails[index], heads[index], caps[index], costs[index])
        solver.set_nodes_supplies(np.arange(network.num_nodes, dtype=np.int32), supplies)
        status = solver.solve()
        rounds += 1
        if status == solver.BAD_COST_RANGE and len(run) > 1:
            # The solver's node prices can drift further than its up-front check allows for: pack
            # fewer levels per round (a refusal, never a wrong answer).
            todo = run + todo
            limit = len(run) - 1
            continue
        if status != solver.OPTIMAL:
            kind = "infeasible" if status in (solver.INFEASIBLE, solver.UNBALANCED) else "error"
            return FlowOutcome(kind, None, rounds, time.perf_counter() - started,
                               f"The min-cost-flow solver answered {status.name} in round {rounds}.")
        flows = fixed_flow.copy()
        round_flow = np.zeros(n_arcs, dtype=np.int64)
        if len(index):
            round_flow[index] = solver.flows(np.arange(len(index), dtype=np.int32))
        flows += round_flow

        # The certificate of this round (and, for all but the last, the face of the next one).
        sub_caps = np.where(active, caps, 0)
        potentials = residual_potentials(network.num_nodes, tails[index], heads[index], caps[index],
                                         round_flow[index], costs[index])
        if potentials is None:
            return FlowOutcome("error", flows, rounds, time.perf_counter() - started,
                               f"Round {rounds} is not optimal: its residual network has a negative cycle.")
        reduced = costs + potentials[tails] - potentials[heads]
        violated = active & (((reduced < 0) & (round_flow < sub_caps)) | ((reduced > 0) & (round_flow > 0)))
        if violated.any():
            return FlowOutcome("error", flows, rounds, time.perf_counter() - started,
                               f"Round {rounds} failed its optimality certificate.")
        if todo:
            fill = active & (reduced < 0)
            fixed_flow[fill] = caps[fill]
            np.add.at(supplies, tails[fill], -caps[fill])
            np.add.at(supplies, heads[fill], caps[fill])
            active &= reduced == 0
    return FlowOutcome("optimal", flows, rounds, time.perf_counter() - started)
