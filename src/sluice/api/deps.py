"""FastAPI dependency providers: the live objects the app was built with.

``create_app`` stores them on ``app.state``; routers ask for them through these functions,
so no module holds a global.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from sluice.model.errors import EnvironmentFault, Message

__all__ = ["get_bus", "get_state"]


def get_state(request: Request, name: str) -> Any:
    """Return ``app.state.<name>``.

    Raises:
        EnvironmentFault: ``1500019`` when this server was built without that component.
    """
    value = getattr(request.app.state, name, None)
    if value is None:
        raise EnvironmentFault(
            Message(f"服务未配置{name}组件", f"This server runs without its {name} component")
        )
    return value


def get_bus(request: Request) -> Any:
    """Return the bus (a ``sluice.bus.base.Bus``) the application runs on."""
    return get_state(request, "bus")
