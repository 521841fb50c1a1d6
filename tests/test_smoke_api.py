def test_health(client):
    r = client.http.get("/health")
    assert r.status_code == 200 and r.json_body["status"] == "ok"
