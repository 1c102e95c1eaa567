"""OpenAPI for routes that read their own parameters: bodies documented from pydantic models.

Flow routes parse parameters the BKData way (query, JSON, form, header), so FastAPI cannot
infer their bodies; :func:`body` records the model on the route and :func:`install_openapi`
adds each model's schema to the generated document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

__all__ = ["ENVELOPE_RESPONSES", "body", "install_openapi"]

_MODELS: dict[str, type[BaseModel]] = {}

ENVELOPE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The BKData envelope; `result` says success or failure, `code` the reason.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}},
    }
}


def body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting ``model`` as the JSON request body."""
    _MODELS[model.__name__] = model
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, adding the envelope and every recorded body model."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Envelope"] = {
            "type": "object",
            "required": ["result", "code", "message", "data", "errors"],
            "properties": {
                "result": {"type": "boolean"},
                "code": {"type": "string", "pattern": "^[0-9]{7}$"},
                "message": {"type": "string"},
                "data": {},
                "errors": {},
            },
        }
        for name, model in _MODELS.items():
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for def_name, definition in model_schema.pop("$defs", {}).items():
                components[def_name] = definition
            components[name] = model_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
