"""Causal cycles across hosts: what no choice of the hosts' clocks can explain, over many keys.

Per key, the per-host rules of ``_hosts`` are exact; but the clock maps must be the same for
every key, so keys that are each fine may still conflict. Build a graph whose edges mean "not
later than" in real time:

- per host, its recorded times in increasing order (strict: one clock);
- per key ``k`` with a winner that returned True, a node ``P_k`` (the moment ``k`` became
  present) with ``N_{k,h} -> P_k -> E_{k,h}`` on every host ``h`` (a miss is linearized before
  the write, a hit after it; only the latest miss and the earliest hit of a host matter, the
  chain reaches the others) and ``inv_w -> P_k -> cmp_w`` on the winner's host.

A cycle through two different times of one host puts a time before an earlier one: no
increasing clock maps exist, the history is not linearizable (sound). Conversely, when every
key that was seen present has a winner that returned True (no failed or killed insert may have
won instead), an acyclic graph yields clock maps (any topological order), so the check is
then exact; candidate winners only add edges that are certain, so elsewhere it is sound.
One history with one host never has such a cycle (linearizability is local), so this runs
only for several hosts, after the per-key rules, on the keys those found nothing wrong with.
Cost: O(keys x hosts) edges, sorting the times of each host, one Tarjan pass.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from ._checker import CONC_LINEARIZABLE, HostOf, Op, StressViolation, _cmp_t, _Key, _recs

__all__ = ["CAUSAL_CYCLE", "causal_cycles"]

CAUSAL_CYCLE = "causal-cycle"
_INF = float("inf")


class _Graph:
    def __init__(self) -> None:
        self.adj: list[list[int]] = []
        self.where: list[tuple[Any, Any]] = []  # node -> ("time", host, t) | ("key", gk)
        self.times: dict[Any, dict[float, int]] = {}  # host -> t -> node
        self.keys: dict[Any, int] = {}
        self.why: dict[tuple[int, int], Op] = {}  # cross edge -> the op that forces it

    def _node(self, where: tuple[Any, ...]) -> int:
        self.adj.append([])
        self.where.append(where)
        return len(self.adj) - 1

    def time(self, host: Any, t: float) -> int:
        nodes = self.times.setdefault(host, {})
        if t not in nodes:
            nodes[t] = self._node(("time", host, t))
        return nodes[t]

    def key(self, gk: Any) -> int:
        if gk not in self.keys:
            self.keys[gk] = self._node(("key", gk))
        return self.keys[gk]

    def edge(self, u: int, v: int, op: Op) -> None:
        self.adj[u].append(v)
        self.why.setdefault((u, v), op)

    def chains(self) -> dict[int, int]:
        """Link each host's times in order; return node -> the next node of its host."""
        nxt: dict[int, int] = {}
        for nodes in self.times.values():
            order = [nodes[t] for t in sorted(nodes)]
            for a, b in zip(order, order[1:]):
                self.adj[a].append(b)
                nxt[a] = b
        return nxt


def _key_edges(g: _Graph, gk: Any, parts: Mapping[Any, _Key], w: Op | None,
               host_of: HostOf) -> None:
    p = g.key(gk)
    own = host_of(w[0]) if w is not None else None
    for host, st in parts.items():
        ins: list[tuple[float, Op]] = []
        outs: list[tuple[float, Op]] = []
        if st.none_i is not None:
            ins.append((st.none_inv, (st.none_i, st.none_c)))
        if st.get_op is not None:
            outs.append((st.get_cmp, st.get_op))
        if st.false_op is not None:
            outs.append((st.false_cmp, st.false_op))
        if w is not None and host == own:
            ins.append((w[0]["t"], w))
            if _cmp_t(w) < _INF:
                outs.append((_cmp_t(w), w))
        if ins:
            t, op = max(ins, key=lambda x: x[0])
            g.edge(g.time(host, t), p, op)
        if outs:
            t, op = min(outs, key=lambda x: x[0])
            g.edge(p, g.time(host, t), op)


def _sccs(adj: list[list[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components, iteratively (histories are large)."""
    index = [-1] * len(adj)
    low = [0] * len(adj)
    on = [False] * len(adj)
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in range(len(adj)):
        if index[root] >= 0:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on[v] = True
            if i < len(adj[v]):
                work.append((v, i + 1))
                u = adj[v][i]
                if index[u] < 0:
                    work.append((u, 0))
                elif on[u]:
                    low[v] = min(low[v], index[u])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    u = stack.pop()
                    on[u] = False
                    comp.append(u)
                    if u == v:
                        break
                out.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return out


def causal_cycles(keys: list[tuple[Any, Mapping[Any, _Key], Op | None]], host_of: HostOf
                  ) -> list[StressViolation]:
    """``keys``: (key, its per-host aggregates, its winner if it returned True)."""
    g = _Graph()
    for gk, parts, w in keys:
        _key_edges(g, gk, parts, w, host_of)
    nxt = g.chains()
    out = []
    for comp in _sccs(g.adj):
        seen: dict[Any, int] = {}
        first = None
        for v in comp:
            if g.where[v][0] == "time":
                host = g.where[v][1]
                if host in seen:
                    first = min((seen[host], v), key=lambda n: g.where[n][2])
                    break
                seen[host] = v
        if first is not None:
            out.append(_report(g, set(comp), first, nxt[first], host_of))
    return out


def _report(g: _Graph, comp: set[int], start: int, second: int, host_of: HostOf
            ) -> StressViolation:
    """One cycle through ``start`` and its host's next time, as a violation."""
    parent: dict[int, int] = {}
    seen = {second}
    todo = deque([second])
    while todo and start not in parent:  # breadth first: a shortest way back to start
        v = todo.popleft()
        for u in g.adj[v]:
            if u in comp and u not in seen:
                seen.add(u)
                parent[u] = v
                todo.append(u)
    way = []
    v = start
    while v != second:
        v = parent[v]
        way.append(v)
    cycle = [start, *reversed(way)]  # start -> second -> ... -> back to start
    ops: list[Op] = []
    for a, b in zip(cycle, cycle[1:] + cycle[:1]):
        op = g.why.get((a, b))
        if op is not None and op not in ops:
            ops.append(op)
    names = [g.where[v][1] for v in cycle if g.where[v][0] == "key"]
    hosts = sorted({str(g.where[v][1]) for v in cycle if g.where[v][0] == "time"})
    key_names = [gk[1] if isinstance(gk, tuple) else gk for gk in names]
    group = names[0][0] if names and isinstance(names[0], tuple) else None
    excerpt = _recs(*ops)
    for rec in excerpt:
        rec["host"] = host_of(rec)
    excerpt.sort(key=lambda rec: (str(rec["host"]), rec.get("t", 0)))  # times of one host
    return StressViolation(
        CAUSAL_CYCLE, str(key_names[0]) if key_names else "-", CONC_LINEARIZABLE,
        f"no order of the clocks of hosts {', '.join(hosts)} explains these ops on keys "
        f"{', '.join(map(str, key_names))}: each host's own order and the cache's (a miss "
        "before the write, the write before a hit) form a cycle", excerpt, group)
