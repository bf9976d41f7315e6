"""Every answer of every surface carries the browser's security headers (`core.security_headers`):
screens a policy allowing only Tessera's own scripts and styles, everything else one allowing
nothing; no framing, no sniffing, the referrer kept in house; HSTS only when served over HTTPS."""

from __future__ import annotations

from typing import Any

from tests.integration.test_experiments_api import page as page  # noqa: F401 - the fixture
from tests.support.builders import storefront

HSTS = "Strict-Transport-Security"
NO_FRAMES_NO_SNIFFING = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def policy(response: Any) -> dict[str, str]:
    """The Content-Security-Policy as directive → its sources."""
    directives = (d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
    return {d[0]: (d[1] if len(d) > 1 else "") for d in directives}


def assert_common(response: Any) -> None:
    assert {name: response.headers.get(name) for name in NO_FRAMES_NO_SNIFFING} == NO_FRAMES_NO_SNIFFING
    assert policy(response)["frame-ancestors"] == "'none'"


def assert_data_policy(response: Any) -> None:
    assert_common(response)
    assert policy(response)["default-src"] == "'none'"


def test_a_screen_allows_only_its_own_scripts_and_styles(client: Any, sign_in: Any) -> None:
    sign_in("viewer")
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_common(response)
    rules = policy(response)
    assert rules["script-src"] == rules["style-src"] == rules["default-src"] == "'self'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert (rules["object-src"], rules["base-uri"], rules["form-action"]) == ("'none'", "'none'", "'self'")
    assert HSTS not in response.headers


def test_the_sign_in_page_static_files_and_health_carry_them(client: Any) -> None:
    assert_common(client.get("/sign-in"))
    with client.get("/static/ui/tessera.css") as stylesheet:
        assert_data_policy(stylesheet)
    for url in ("/healthz", "/readyz", "/metrics"):
        assert_data_policy(client.get(url))


def test_an_admin_api_error_carries_them(client: Any) -> None:
    response = client.get("/api/v1/pages")  # no token
    assert response.status_code == 401
    assert_data_policy(response)


def test_a_storefront_json_404_carries_them(make_app: Any) -> None:
    response = make_app(surfaces="storefront").test_client().get("/no/such/thing")
    assert response.status_code == 404 and response.is_json
    assert_data_policy(response)


def test_a_visit_answered_by_the_storefront_edge_carries_them(make_app: Any, page: None) -> None:
    client = make_app(surfaces="storefront").test_client()
    response = client.get("/api/v1/pages/birthday/resolve?marketplace=US&user_id=s-1", headers=storefront(client))
    assert response.status_code == 200
    assert_data_policy(response)
    assert HSTS not in response.headers


def test_hsts_only_with_secure_cookies(make_app: Any, page: None) -> None:
    secure = make_app(secure_cookies=True).test_client()
    for url in ("/sign-in", "/healthz", "/api/v1/pages/birthday/resolve?marketplace=US&user_id=s-2"):
        answer = secure.get(url, headers=storefront(secure))
        assert answer.status_code == 200 and answer.headers.get(HSTS) == "max-age=31536000; includeSubDomains", url
    plain = make_app().test_client()
    assert HSTS not in plain.get("/sign-in").headers
