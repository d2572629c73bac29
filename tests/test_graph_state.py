"""The link graph for Gephi carries each message's score, model version, review state and cases."""

from __future__ import annotations

import networkx as nx
from sqlalchemy import select

from detector.db import open_database, session_scope
from detector.link.graph import NEAR_DUPLICATE, write_graph
from detector.link.run import link_pending
from detector.schema import Label
from reports.cases import open_case


def test_graph_nodes_carry_state_and_edges_their_evidence(world, tmp_path):
    engine = open_database(world.url)
    link_pending(engine, world.settings)
    with session_scope(engine) as s:
        ref = open_case(s, "tester", world.reposts, tlp="AMBER").ref
        labelled = set(s.scalars(select(Label.message_id)))
    for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        out = tmp_path / f"g.{fmt}"
        write_graph(engine, out, fmt, "tester")
        graph = reader(out)
        nodes = dict(graph.nodes(data=True))
        for mid in world.reposts:
            node = nodes[f"m{mid}"]
            assert (node["review_state"], node["cases"], node["model_version"]) == ("confirmed", ref, "fast-test-1")
            assert float(node["score"]) == 0.93
        unlabelled = [d for n, d in nodes.items() if d["kind"] == "message" and int(n[1:]) not in labelled]
        assert unlabelled and all(d["review_state"] == "open" and d["cases"] == "" for d in unlabelled), fmt
        evidence = {d["kind"]: d["evidence"] for _, _, d in graph.edges(data=True)}
        assert evidence["near_duplicate"] == NEAR_DUPLICATE and evidence["shares"].startswith("same "), evidence
