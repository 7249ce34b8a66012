"""The review desk: pages and API for studios, agencies and analysts, one client at a time.

Why FastAPI (on Starlette, served by uvicorn) rather than the aiohttp app it replaced:
the desk needed an OpenAPI 3 schema generated from the code (FastAPI derives it from the
routes and their pydantic models: ``/openapi.json`` cannot drift from what the handlers
accept and return), and maintained pieces for everything security-related: Starlette's
``SessionMiddleware`` (itsdangerous-signed cookies) and ``TrustedHostMiddleware``,
``asgi-csrf`` (Datasette's double-submit CSRF middleware), argon2-cffi for passwords.
aiohttp has no maintained OpenAPI generator (aiohttp-apispec is unmaintained), so the
schema would have been written by hand beside the code. Handlers are plain functions run
in a thread pool (the catalog and the index are synchronous).

Layout, by resource (each area its routes and templates, like the platform adapters):

    app.py          create_app(catalog, index): the middleware stack (see its docstring)
    web.py          what areas share: catalog/index/principal of a request, templates
    accounts/       roles, users, tokens, sessions; login; the auth middleware; CLI
    alerts/         queue per tier, alert side by side, decisions (api.py, pages.py)
    evidence/       captures, offline verification, the bundle
    notices/        the complaint form -> PDF
    takedowns/      drafted -> filed -> removed / rejected / counter-notice -> restored
    persons/        roster: list, bulk enrolment, edit, remove (erasure)
    search/         analysts' search: core (CLI and API), routes (scoped to the client)
    media/          reference photos, matched frames, face crops (private, no-store)
    apidocs/        /docs: the API reference rendered from the schema, offline
"""
