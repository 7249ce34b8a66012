"""``GET /docs``: the API reference, rendered on the server from ``/openapi.json``.

Swagger UI and ReDoc load their scripts from a CDN, which the desk must not depend on
(nothing downloads at run time, and the page must work offline); this page lists every
operation with its parameters, body and answers from the same generated schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from webapp.web import render

router = APIRouter()


def _ref_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"list of {_ref_name(schema.get('items', {}))}"
    if "anyOf" in schema:
        return " | ".join(_ref_name(s) for s in schema["anyOf"])
    return str(schema.get("type", schema.get("format", "any")))


def _answer(response: dict[str, Any]) -> str:
    content: dict[str, Any] = response.get("content") or {}
    for media in content.values():
        return _ref_name(media.get("schema", {}))
    return ""


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            body: dict[str, Any] = op.get("requestBody", {}).get("content", {}) or {}
            out.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""), "tags": op.get("tags", []),
                "parameters": [{"name": p["name"], "in": p["in"],
                                "required": p.get("required", False),
                                "type": _ref_name(p.get("schema", {}))}
                               for p in op.get("parameters", [])],
                "body": {ct: _ref_name(c.get("schema", {})) for ct, c in body.items()},
                "responses": {code: _answer(r) for code, r in op.get("responses", {}).items()},
            })
    return out


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> Response:
    spec = request.app.openapi()
    return render(request, "apidocs/docs.html", spec=spec, operations=operations(spec),
                  schemas=spec.get("components", {}).get("schemas", {}))
