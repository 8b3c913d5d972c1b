"""The lexicographic min-cost-flow engine on its own: levels, optimal faces, certificates."""

from __future__ import annotations

import numpy as np

from projectflow.solvers import flow


def network(arcs, supplies, levels, spans):
    tails, heads, caps = zip(*arcs)
    return flow.Network(num_nodes=len(supplies), tails=np.array(tails, dtype=np.int32),
                        heads=np.array(heads, dtype=np.int32), capacities=np.array(caps, dtype=np.int64),
                        supplies=np.array(supplies, dtype=np.int64),
                        levels=tuple(np.array(level, dtype=np.int64) for level in levels), spans=tuple(spans))


# Two units from node 0 to node 3 along three routes: 0-1-3 (one unit), 0-2-3 (one unit), 0-3 (two).
ARCS = [(0, 1, 1), (1, 3, 1), (0, 2, 1), (2, 3, 1), (0, 3, 2)]
SUPPLIES = [2, 0, 0, -2]


def test_the_first_level_wins_whatever_the_second_costs():
    # Level 0 prefers the direct arc (cost 0 against 1 per route); level 1 would rather use routes.
    net = network(ARCS, SUPPLIES, levels=[[1, 0, 1, 0, 0], [0, 0, 0, 0, 5]], spans=[2, 10])

    outcome = flow.solve_lexicographic(net)

    assert outcome.status == "optimal"
    assert outcome.flows.tolist() == [0, 0, 0, 0, 2]


def test_the_second_level_breaks_the_ties_of_the_first():
    # Level 0 is indifferent; level 1 prefers route 0-2-3, then the direct arc, then 0-1-3.
    net = network(ARCS, SUPPLIES, levels=[[0] * 5, [3, 0, 1, 0, 2]], spans=[0, 10])

    assert flow.solve_lexicographic(net).flows.tolist() == [0, 0, 1, 1, 1]


def test_levels_solved_one_per_round_reach_the_same_flow(monkeypatch):
    levels = [[1, 0, 1, 0, 2], [0, 0, 0, 0, -1], [5, 0, 1, 0, 0]]
    packed = flow.solve_lexicographic(network(ARCS, SUPPLIES, levels, spans=[4, 2, 12]))
    monkeypatch.setattr(flow, "_pack", lambda levels, *args: [1])

    one_by_one = flow.solve_lexicographic(network(ARCS, SUPPLIES, levels, spans=[4, 2, 12]))

    assert packed.rounds == 1 and one_by_one.rounds == 3
    assert one_by_one.flows.tolist() == packed.flows.tolist()


def test_potentials_find_the_negative_cycle_of_a_flow_that_is_not_optimal():
    tails, heads = np.array([0, 1, 0], dtype=np.int32), np.array([1, 2, 2], dtype=np.int32)
    caps, costs = np.array([1, 1, 1]), np.array([1, 1, 5])
    # One unit on the expensive direct arc while the cheap route 0-1-2 is free: 0-1-2-0 is negative.
    assert flow.residual_potentials(3, tails, heads, caps, np.array([0, 0, 1]), costs) is None
    # On the cheap route there is no negative cycle, and the potentials prove it.
    potentials = flow.residual_potentials(3, tails, heads, caps, np.array([1, 1, 0]), costs)
    reduced = costs + potentials[tails] - potentials[heads]
    assert reduced[2] >= 0 and (reduced[:2] <= 0).all()


def test_an_unbalanced_network_is_reported_infeasible_not_optimal():
    net = network(ARCS, [2, 0, 0, -1], levels=[[0] * 5], spans=[0])

    assert flow.solve_lexicographic(net).status == "infeasible"
