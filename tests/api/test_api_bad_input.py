"""Bad input never yields a 5xx or a stack trace; everything answers in the envelope."""

from __future__ import annotations

import pytest

from conftest import Api
from sluice.api.params import MAX_BODY_BYTES


def test_malformed_and_wrong_types(api: Api) -> None:
    response = api.client.post(
        "/v3/dataflow/flow/flows/",
        content=b'{"project_id": 1,',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200 and response.json()["code"] == "1500400"
    response = api.client.post(
        "/v3/dataflow/flow/flows/", content=b"[1, 2]", headers={"content-type": "application/json"}
    )
    assert response.json()["code"] == "1500400"
    api.fail("POST", "flows/", {"project_id": "one", "flow_name": "x"}, code="1500001")
    api.fail("POST", "flows/", {"project_id": 1, "flow_name": ["x"]}, code="1500001")
    api.fail(
        "POST",
        "flows/create/",
        {"project_id": 1, "flow_name": "x", "nodes": "not a list"},
        code="1500001",
    )
    api.fail(
        "POST",
        "flows/create/",
        {"project_id": 1, "flow_name": "x", "nodes": [{"id": "a"}]},
        code="1500001",
    )
    api.fail("PUT", "flows/1/graph/", {"action": "update_nodes", "data": "x"}, code="1500001")


def test_form_body_is_accepted_for_post(api: Api) -> None:
    response = api.client.post(
        "/v3/dataflow/flow/flows/",
        data={"project_id": "4", "flow_name": "from-form", "bk_username": "eve"},
    )
    body = response.json()
    assert body["result"] is True and body["data"]["created_by"] == "eve"


def test_identity_header_takes_precedence(api: Api) -> None:
    headers = {"X-Bkdata-Authorization": '{"bk_username": "header-user"}'}
    response = api.client.post(
        "/v3/dataflow/flow/flows/",
        json={"project_id": 1, "flow_name": "h", "bk_username": "body-user"},
        headers=headers,
    )
    assert response.json()["data"]["created_by"] == "header-user"
    bad = api.client.post(
        "/v3/dataflow/flow/flows/",
        json={"project_id": 1, "flow_name": "h2"},
        headers={"X-Bkdata-Authorization": "{nope"},
    )
    assert bad.json()["code"] == "1500400"


def test_huge_body_is_refused(api: Api) -> None:
    payload = b'{"project_id": 1, "flow_name": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    response = api.client.post(
        "/v3/dataflow/flow/flows/", content=payload, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200 and response.json()["code"] == "1500413"


@pytest.mark.parametrize(
    "path", ["flows/99999999999999999999/", "flows/2147483648/graph/", "flows/abc/", "nowhere/"]
)
def test_unknown_ids_and_urls(api: Api, path: str) -> None:
    data = api.call("GET", path)
    assert data["result"] is False and data["code"] == "1500404"


def test_wrong_method_and_unknown_node(api: Api) -> None:
    response = api.client.post("/v3/dataflow/flow/flows/1/graph/")
    assert response.status_code == 200 and response.json()["code"] == "1500405"
    flow_id = api.ok("POST", "flows/", {"project_id": 1, "flow_name": "n"})["flow_id"]
    api.fail("PATCH", f"flows/{flow_id}/nodes/5/", {"sql": "x"}, code="1500001")
    api.fail("GET", f"flows/{flow_id}/nodes/9999999999/", code="1500404")
