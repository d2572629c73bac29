"""Links in the queue: the cluster and entity pages, and the links panel of the item page.

`install(app)` adds the routes and the `item_links` template function the item page's
`_links.html` include calls. Everything shown is escaped by the templates (autoescape).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import select

from detector.db import session_scope
from detector.link.queries import ENTITY_TITLES, ItemLinks, cluster_view, describe_entity, entity_view, item_links
from detector.schema import Media

from .params import PathId
from .web import logged_in

router = APIRouter()


def _item_links(request: Request, message_id: int) -> ItemLinks:
    """For the item page's include (its handler has already checked the login)."""
    with session_scope(request.app.state.engine) as db:
        return item_links(db, message_id)


def install(app: FastAPI) -> None:
    """Add the link pages and the item page's links panel to the queue app."""
    app.include_router(router)
    env = app.state.templates.env
    env.globals.update(item_links=_item_links, describe_entity=describe_entity, entity_titles=ENTITY_TITLES)


@router.get("/clusters/{cluster_id}")
def cluster_page(request: Request, cluster_id: PathId) -> Response:
    with logged_in(request) as ctx:
        return ctx.render("cluster.html", view=cluster_view(ctx.db, cluster_id))


@router.get("/entities/{entity_id}")
def entity_page(request: Request, entity_id: PathId) -> Response:
    with logged_in(request) as ctx:
        view = entity_view(ctx.db, entity_id)
        photo = ctx.db.scalar(select(Media.id).where(Media.sha256 == view.entity.key, Media.kind == "photo",
                                                     Media.status == "stored").order_by(Media.id).limit(1)) \
            if view.entity.kind == "photo" else None
        return ctx.render("entity.html", view=view, photo=photo)  # served blurred until revealed (web.media_file)
