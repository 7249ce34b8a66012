"""Roster pages: the list with each person's status, bulk enrolment, edit, remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from alerts.erasure import erase_person, reindex_with
from alerts.roster import edit_person, list_clients, list_persons
from webapp.accounts.roles import Principal
from webapp.persons import person_for
from webapp.persons.api import _row
from webapp.web import actor, catalog, index, principal, render

router = APIRouter(include_in_schema=False)


def _lines(text: str) -> list[str]:
    return [x.strip() for x in text.replace(",", "\n").splitlines() if x.strip()]


@router.get("/persons")
def roster(request: Request, who: Annotated[Principal, Depends(principal)]) -> Response:
    cat = catalog(request)
    ids = who.client_ids("read")
    roster_ids = who.client_ids("roster")
    return render(request, "persons/roster.html", persons=list_persons(cat, client_ids=ids),
                  clients=list_clients(cat, ids),
                  enrol_clients=list_clients(cat, roster_ids))


@router.get("/persons/enrol")
def enrol_page(request: Request, who: Annotated[Principal, Depends(principal)]) -> Response:
    who.require_anywhere("roster")
    return render(request, "persons/enrol.html",
                  clients=list_clients(catalog(request), who.client_ids("roster")))


@router.get("/persons/{person_id}")
def person_page(request: Request, person_id: int,
                who: Annotated[Principal, Depends(principal)]) -> Response:
    client_id = person_for(catalog(request), who, person_id)
    return render(request, "persons/person.html", p=_row(request, person_id),
                  may_edit=who.can("roster", client_id), settled=[])


@router.post("/persons/{person_id}")
def person_edit(request: Request, person_id: int,
                who: Annotated[Principal, Depends(principal)],
                name: Annotated[str, Form()] = "", aliases: Annotated[str, Form()] = "",
                official: Annotated[str, Form()] = "") -> Response:
    client_id = person_for(catalog(request), who, person_id, "roster")
    current = _row(request, person_id)
    wanted = _lines(official)
    had = [f"{a.get('platform', '*')}:{a.get('uploader', '')}"
           for a in current["official_accounts"]]
    row = edit_person(catalog(request), person_id, actor(who), name=name or None,
                      aliases=_lines(aliases),
                      add_official=[a for a in wanted if a not in had],
                      remove_official=[a for a in had if a not in wanted])
    return render(request, "persons/person.html", p=row, settled=row["settled"],
                  may_edit=who.can("roster", client_id))


@router.post("/persons/{person_id}/remove")
def person_remove(request: Request, person_id: int,
                  who: Annotated[Principal, Depends(principal)]) -> Response:
    person_for(catalog(request), who, person_id, "roster")
    cat = catalog(request)
    report = erase_person(cat, person_id, actor(who), reindex=reindex_with(cat, index(request)))
    return render(request, "persons/removed.html", report=report)
