"""The link graph for Gephi: messages joined to their clusters and shared entities (GraphML or GEXF).

Only links that connect two or more messages are exported. Each message node carries its
latest score and model version, its review state (`detector.review`) and the cases citing it,
so a partner can colour confirmed against rejected; each edge carries its kind and evidence.
Writing the file is an export of evidence (message text), so it is recorded as an AuditEvent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..atomic import atomic_path
from ..db import session_scope
from ..errors import InputError
from ..review import state_of_labels
from ..schema import (AuditEvent, Case, CaseMessage, Cluster, ClusterMember, Entity, EntityMember, Label, Message,
                      Score, Source)
from .queries import describe_entity

FORMATS = ("graphml", "gexf")
SNIPPET = 200


NEAR_DUPLICATE = "near-duplicate text (MinHash of character 5-shingles, estimated Jaccard >= 0.35)"


def message_state(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per message: latest `score` and `model_version` (when scored), `review_state`, `cases` (refs, comma-joined)."""
    labels: dict[int, list[Label]] = {i: [] for i in ids}
    scores: dict[int, Score] = {}
    cases: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for label in session.scalars(select(Label).where(Label.message_id.in_(chunk))):
            labels[label.message_id].append(label)
        for score in session.scalars(select(Score).where(Score.message_id.in_(chunk))
                                     .order_by(Score.created_at, Score.id)):
            scores[score.message_id] = score  # the latest wins
        for message_id, ref in session.execute(select(CaseMessage.message_id, Case.ref).join(Case)
                                               .where(CaseMessage.message_id.in_(chunk)).order_by(Case.ref)):
            cases[message_id].append(ref)
    state: dict[int, dict[str, Any]] = {}
    for i in ids:
        state[i] = {"review_state": state_of_labels(labels[i]), "cases": ",".join(cases[i])}
        if i in scores:
            state[i] |= {"score": round(scores[i].probability, 6), "model_version": scores[i].model_version}
    return state


def build_graph(engine: Engine) -> Any:
    """A networkx Graph: nodes `m<id>` (messages), `c<id>` (clusters), `e<id>` (entities)."""
    import networkx as nx

    graph = nx.Graph()
    with session_scope(engine) as session:
        for cluster in session.scalars(select(Cluster).where(Cluster.size > 1)):
            graph.add_node(f"c{cluster.id}", kind="cluster", label=f"cluster {cluster.id}", size=cluster.size)
        for entity in session.scalars(select(Entity).where(Entity.size > 1)):
            graph.add_node(f"e{entity.id}", kind=entity.kind, label=describe_entity(entity), size=entity.size)
        edges = [(f"m{m}", f"c{c}", "near_duplicate", NEAR_DUPLICATE) for m, c in session.execute(
            select(ClusterMember.message_id, ClusterMember.cluster_id).join(Cluster).where(Cluster.size > 1))]
        edges += [(f"m{m}", f"e{e}", "shares", f"same {kind}" + (f" ({via})" if via else "")) for m, e, kind, via in
                  session.execute(select(EntityMember.message_id, EntityMember.entity_id, Entity.kind, EntityMember.via)
                                  .join(Entity).where(Entity.size > 1))]
        ids = sorted({int(edge[0][1:]) for edge in edges})
        states = message_state(session, ids)
        for start in range(0, len(ids), 500):
            rows = session.execute(select(Message, Source).join(Source).where(Message.id.in_(ids[start : start + 500])))
            for message, source in rows:
                graph.add_node(f"m{message.id}", kind="message", label=f"message {message.id}",
                               channel=source.name or source.chat_id, platform=source.platform,
                               sent_at=message.sent_at.isoformat() if message.sent_at else "",
                               text=(message.text or "")[:SNIPPET], **states[message.id])
        graph.add_edges_from((a, b, {"kind": kind, "evidence": evidence}) for a, b, kind, evidence in edges)
    return graph


def write_graph(engine: Engine, out: Path, fmt: str, actor: str) -> tuple[int, int]:
    """Write the link graph to `out` (all or nothing); returns (nodes, edges)."""
    import networkx as nx

    if fmt not in FORMATS:
        raise InputError(out, f"unknown graph format {fmt!r}: use graphml or gexf")
    if not out.parent.resolve().is_dir():
        raise InputError(out, "folder does not exist")
    graph = build_graph(engine)
    with atomic_path(out.resolve()) as tmp:
        (nx.write_graphml if fmt == "graphml" else nx.write_gexf)(graph, str(tmp))
    with session_scope(engine) as session:
        session.add(AuditEvent(actor=actor, action="export_graph", object_type="link_graph", object_id=str(out)[:100],
                               before=None, after={"format": fmt, "nodes": graph.number_of_nodes(),
                                                   "edges": graph.number_of_edges()}))
    return graph.number_of_nodes(), graph.number_of_edges()
