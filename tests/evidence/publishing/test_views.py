from evidence.models import ReviewVersion


def test_home_lists_the_review_with_its_version_studies_and_patients(client, seeded):
    page = client.get("/")
    body = page.content.decode()
    assert page.status_code == 200
    assert seeded.title in body and "Living (searched on its schedule)" in body
    assert '<td data-label="Studies">9</td>' in body and '<td data-label="Patients">133</td>' in body
    assert "v0" in body and ReviewVersion.objects.filter(review=seeded).count() == 1


def test_healthz_answers(client, db):
    body = client.get("/healthz").json()
    assert body == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "page": "ok"}}
