"""``/api/clients`` and ``/api/persons``: the roster of the caller's clients."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel

from alerts.erasure import erase_person, reindex_with
from alerts.roster import edit_person, list_clients, list_persons, person_row
from likewatch.catalog.models import Client, Person
from matchers.index.base import BadQuery
from webapp.accounts.roles import NotFound, Principal
from webapp.persons import person_for
from webapp.web import actor, catalog, index, principal

router = APIRouter(tags=["roster"])


class ClientOut(BaseModel):
    id: int
    name: str
    kind: str
    persons: int
    open_alerts: int
    created_at: str | None


class ClientList(BaseModel):
    clients: list[ClientOut]


class ReferenceOut(BaseModel):
    id: int
    sha256: str
    signals: dict[str, int]


class PersonOut(BaseModel):
    id: int
    key: str
    client: str
    name: str
    aliases: list[str]
    official_accounts: list[dict[str, str]]
    references: list[ReferenceOut]
    last_match_at: str | None
    open_alerts: int
    alerts: dict[str, int]
    created_at: str | None


class PersonList(BaseModel):
    persons: list[PersonOut]


class PersonEdit(BaseModel):
    name: str | None = None
    aliases: list[str] | None = None  # replaces the list when given
    add_official: list[str] = []  # PLATFORM:UPLOADER ('*' for any platform)
    remove_official: list[str] = []


class EditOut(PersonOut):
    settled: list[str]  # open alerts the new official accounts settled


class EnrolOut(BaseModel):
    person: PersonOut
    enrolled: int
    already: int


class ErasureOut(BaseModel):
    person: str
    client: str
    deleted: dict[str, int]
    kept: dict[str, Any]
    index: str


@router.get("/api/clients", response_model=ClientList)
def get_clients(request: Request, who: Annotated[Principal, Depends(principal)]) -> ClientList:
    """Your clients, with their persons and open alerts."""
    return ClientList(clients=[ClientOut(**c) for c in
                               list_clients(catalog(request), who.client_ids("read"))])


@router.get("/api/persons", response_model=PersonList)
def get_persons(request: Request, who: Annotated[Principal, Depends(principal)],
                client: str | None = None) -> PersonList:
    """Protected persons of your clients: references, last match, open alerts, aliases,
    official accounts (the allow-list)."""
    ids = who.client_ids("read")
    rows = list_persons(catalog(request), client_ids=ids) if client is None else \
        [p for p in list_persons(catalog(request), client_ids=ids) if p["client"] == client]
    return PersonList(persons=[PersonOut(**p) for p in rows])


def _row(request: Request, person_id: int) -> dict[str, Any]:
    with catalog(request).session() as s:
        p = s.get(Person, person_id)
        if p is None:
            raise NotFound(f"no person {person_id}")
        c = s.get(Client, p.client_id)
        assert c is not None
        return person_row(s, p, c)


@router.get("/api/persons/{person_id}", response_model=PersonOut)
def get_person(request: Request, person_id: int,
               who: Annotated[Principal, Depends(principal)]) -> PersonOut:
    person_for(catalog(request), who, person_id)
    return PersonOut(**_row(request, person_id))


@router.patch("/api/persons/{person_id}", response_model=EditOut)
def patch_person(request: Request, person_id: int, body: PersonEdit,
                 who: Annotated[Principal, Depends(principal)]) -> EditOut:
    """Change name, aliases, official accounts; new official accounts settle that
    uploader's open alerts of the person."""
    person_for(catalog(request), who, person_id, "roster")
    row = edit_person(catalog(request), person_id, actor(who), name=body.name,
                      aliases=body.aliases, add_official=body.add_official,
                      remove_official=body.remove_official)
    return EditOut(**row)


@router.delete("/api/persons/{person_id}", response_model=ErasureOut)
def delete_person(request: Request, person_id: int,
                  who: Annotated[Principal, Depends(principal)]) -> ErasureOut:
    """Remove the person and erase their biometric data (reference photos, embeddings,
    matches, index links); the answer says what was kept for legal reasons."""
    person_for(catalog(request), who, person_id, "roster")
    cat = catalog(request)
    report = erase_person(cat, person_id, actor(who), reindex=reindex_with(cat, index(request)))
    return ErasureOut(**report.__dict__)


@router.post("/api/persons", response_model=EnrolOut, status_code=201)
def enrol(request: Request, who: Annotated[Principal, Depends(principal)],
          client: Annotated[str, Form()], person: Annotated[str, Form()],
          photos: Annotated[list[UploadFile], File(description="reference photos")],
          name: Annotated[str, Form()] = "", aliases: Annotated[str, Form()] = "",
          official: Annotated[str, Form()] = "") -> EnrolOut:
    """Enrol a person (or more photos of one) in one of your clients: each photo must show
    one face. ``aliases`` and ``official`` (PLATFORM:UPLOADER) are ``|``-separated."""
    from sqlalchemy import select

    from matchers.enroll import EnrolError
    from matchers.enroll import enroll as enrol_photos

    cat = catalog(request)
    with cat.session() as s:
        c = s.scalar(select(Client).where(Client.name == client))
        if c is None:
            raise NotFound(f"no client {client!r}")
        who.require("roster", c.id)
    accounts = []
    for item in (a.strip() for a in official.split("|") if a.strip()):
        platform, sep, uploader = item.partition(":")
        if not sep or not uploader.strip():
            raise BadQuery(f"official account {item!r}: expected PLATFORM:UPLOADER")
        accounts.append((platform.strip(), uploader.strip()))
    files = [f.file.read() for f in photos]
    try:
        results = enrol_photos(cat, person.strip(), files, client=client, display_name=name,
                               official_accounts=accounts, create_client=False,
                               aliases=[a.strip() for a in aliases.split("|") if a.strip()])
    except EnrolError as exc:
        raise BadQuery(str(exc)) from None
    with cat.session() as s:
        from likewatch.catalog.models import Reference

        ref = s.get(Reference, results[0].reference_id)
        person_id = ref.person_id if ref else 0
    if any(not r.already for r in results):
        from matchers.pipeline import backsearch

        backsearch(cat, person_id)
    return EnrolOut(person=PersonOut(**_row(request, person_id)),
                    enrolled=sum(not r.already for r in results),
                    already=sum(r.already for r in results))
