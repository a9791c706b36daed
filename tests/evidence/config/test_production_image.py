"""The production image serves every page (issue 15): static files built as the Dockerfile builds them, then
every public page and the admin login requested with DEBUG off."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[3]
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def dockerfile_collectstatic_env() -> dict[str, str]:
    """The variables the Dockerfile sets for its collectstatic step (ENV lines and the RUN line's prefix)."""
    text = (ROOT / "Dockerfile").read_text()
    env = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(pair.split("=", 1) for pair in shlex.split(line[4:]) if "=" in pair))
        if line.startswith("RUN ") and "collectstatic" in line:
            words = shlex.split(line[4:])
            env.update(dict(w.split("=", 1) for w in words[: words.index("python")] if "=" in w))
            return env
    raise AssertionError("the Dockerfile no longer runs collectstatic; the image would serve no static files")


@pytest.fixture(scope="module")
def built_static(tmp_path_factory) -> Path:
    """collectstatic run as the image runs it, into a temporary STATIC_ROOT."""
    root = tmp_path_factory.mktemp("staticfiles")
    env = {**os.environ, **dockerfile_collectstatic_env(), "STATIC_ROOT": str(root)}
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def public_urls(review) -> list[str]:
    version = review.versions.order_by("-number").first()
    study = review.studies.filter(status="included").first()
    outcome = version.pooled_results.values_list("outcome__code", flat=True).first()
    return [
        "/",
        f"/reviews/{review.slug}/",
        f"/reviews/{review.slug}/v/{version.number}/",
        f"/reviews/{review.slug}/studies/{study.pk}/",
        f"/reviews/{review.slug}/outcomes/{outcome}/",
        f"/reviews/{review.slug}/feed/",
        "/api/docs/",
        "/admin/login/",
        "/healthz",
    ]


def test_the_dockerfile_builds_static_files_with_debug_off():
    env = dockerfile_collectstatic_env()
    assert env.get("DEBUG") == "0", "collectstatic must run as production runs (DEBUG=0), or no manifest is written"


def test_every_public_page_answers_200_with_debug_off_on_the_built_manifest(seeded, built_static):
    assert (built_static / "staticfiles.json").exists()
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": MANIFEST_STORAGE},
    }
    with override_settings(
        DEBUG=False,
        STATIC_ROOT=built_static,
        STORAGES=storages,
        SECURE_SSL_REDIRECT=False,
        ALLOWED_HOSTS=["testserver"],
    ):
        client = Client(raise_request_exception=False)
        answers = {url: client.get(url).status_code for url in public_urls(seeded)}
        css = re.search(r'href="(/static/[^"]+\.css)"', client.get("/").content.decode())

    assert answers == dict.fromkeys(answers, 200), answers
    assert css and re.search(r"\.[0-9a-f]{12}\.css$", css.group(1)), "pages must link the hashed (manifest) names"


def test_healthz_fails_when_the_pages_cannot_render(seeded, tmp_path):
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": MANIFEST_STORAGE},
    }
    with override_settings(
        DEBUG=False, STATIC_ROOT=tmp_path, STORAGES=storages, SECURE_SSL_REDIRECT=False, ALLOWED_HOSTS=["testserver"]
    ):  # an image built without a manifest
        response = Client(raise_request_exception=False).get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok" and "manifest" in body["checks"]["page"]


def test_healthz_fails_when_the_broker_is_unreachable(db, client, settings):
    settings.USES_REDIS, settings.CELERY_BROKER_URL = True, "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503 and response.json()["checks"]["broker"].startswith("ConnectionError")
