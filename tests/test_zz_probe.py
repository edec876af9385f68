from tests.conftest import PASSWORD

def test_probe(app, make_user):
    a = make_user(roles=("admin",))
    ca = app.test_client(); cb = app.test_client()
    r = ca.post("/account/login", data={"email": a.email, "password": PASSWORD})
    assert r.status_code == 302
    r = cb.get("/account/profile")
    print("B anonymous profile:", r.status_code)
    r = ca.get("/account/profile")
    print("A profile:", r.status_code)
    from flask import g
    print("g has _login_user:", "_login_user" in g)
