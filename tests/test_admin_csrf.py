"""CSRF: every form POST outside /api/ needs the session's token; the bearer-token JSON API does not."""
from admin_fixtures import accounts, app, browser, signed_in, store  # noqa: F401


def test_post_without_or_with_a_wrong_token_is_refused_with_a_clear_message(app, store):
    b = signed_in(app, "admin")
    before = store.get("rph-ed").capacity
    r = b.c.post("/admin/services/rph-ed/capacity", data={"status": "red"})          # no token
    assert r.status_code == 400 and b"security token is missing or out of date" in r.data
    r = b.c.post("/admin/services/rph-ed/capacity", data={"status": "red", "csrf_token": "forged"})
    assert r.status_code == 400
    assert store.get("rph-ed").capacity == before                                     # nothing changed
    assert b.post("/admin/services/rph-ed/capacity", {"status": "red"}).status_code == 302


def test_sign_in_form_is_protected_and_signing_in_rotates_the_token(app):
    c = app.test_client()
    r = c.post("/admin/login", data={"username": "admin", "password": "correct horse battery"})
    assert r.status_code == 400
    page = c.get("/admin/login").get_data(as_text=True)
    import re
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert c.post("/admin/login", data={"username": "admin", "password": "correct horse battery",
                                        "csrf_token": token}).status_code == 302
    # the session was renewed at sign-in: the old token no longer works
    assert c.post("/admin/logout", data={"csrf_token": token}).status_code == 400
    page = c.get("/admin/").get_data(as_text=True)
    new = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert new != token and c.post("/admin/logout", data={"csrf_token": new}).status_code == 302


def test_json_api_with_bearer_token_needs_no_csrf_token(app, store, accounts):
    token = accounts.create_token("admin")
    r = app.test_client().put("/api/v1/services/rph-ed/capacity", json={"status": "amber"},
                              headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.get_json()["capacity"]["status"] == "amber"


def test_every_admin_form_carries_the_token(app):
    b = signed_in(app, "admin")
    import re
    for url in ("/admin/", "/admin/services/rph-ed", "/admin/services/rph-ed/edit", "/admin/services/new",
                "/admin/services/rph-ed/close", "/admin/capacity", "/admin/users", "/admin/rankings",
                "/admin/scenarios", "/admin/import", "/admin/verification"):
        html = b.get(url).get_data(as_text=True)
        forms = re.findall(r"<form[^>]*>.*?</form>", html, flags=re.S)
        posts = [f for f in forms if 'method="post"' in f]
        assert posts, url
        assert all('name="csrf_token"' in f for f in posts), url
