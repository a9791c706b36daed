"""A Content-Security-Policy on public and admin pages, and nothing inline on them that it would refuse
(the browser tests check the same in Chromium)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _pages(review) -> list[str]:
    study = review.studies.first()
    return [
        "/",
        "/reviews/msc-ssc/",
        "/reviews/msc-ssc/v/0/",
        "/reviews/msc-ssc/outcomes/mrss/",
        f"/reviews/msc-ssc/studies/{study.pk}/",
        "/api/docs/",
        "/admin/login/",
    ]


def test_it_sends_a_strict_policy_on_public_admin_and_api_pages(seeded):
    client = Client()
    for path in [*_pages(seeded), "/api/v1/reviews/", "/admin/"]:
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'", path
        assert directives["frame-ancestors"] == "'none'", path
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, path


def test_it_renders_no_inline_script_style_or_handler(seeded):
    client = Client()
    for path in _pages(seeded):
        body = client.get(path).content.decode()
        # The SVG plots are inline markup, but carry no style attribute or <style> of their own.
        assert INLINE.findall(body) == [], f"{path} has inline code the policy refuses; move it to a static file"
