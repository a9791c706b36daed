"""``/api/docs/``: a plain, server-rendered page built from the OpenAPI schema. No JavaScript and no CDN:
the page is the same schema registries read, made legible."""

from __future__ import annotations

from functools import lru_cache

from django.template import Context, Engine
from django.templatetags.static import static
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ info.title }} — API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{{ css_url }}">
</head><body>
<a class="skip" href="#main">Skip to content</a>
<main id="main">
<h1>{{ info.title }} — REST API {{ info.version }}</h1>
<p>Read-only, public, published evidence only. Machine-readable schema: <a href="{{ schema_url }}">{{ schema_url }}</a>
(OpenAPI 3, YAML; <a href="{{ schema_url }}?format=json">JSON</a>).</p>
<h2>How to poll</h2>
<ul>
<li><b>Formats</b>: <code>?format=json|csv|ris|fhir</code> or the <code>Accept</code> header
(<code>application/json</code>, <code>text/csv</code>, <code>application/x-research-info-systems</code>,
<code>application/fhir+json</code>); each endpoint lists the formats it offers. Errors are always JSON.</li>
<li><b>Cheap polling</b>: every answer has an <code>ETag</code> and a <code>Last-Modified</code>; send them back
as <code>If-None-Match</code> / <code>If-Modified-Since</code> and an unchanged answer is a bodiless <code>304</code>.</li>
<li><b>Paging</b>: lists are cursor-paginated, oldest first; follow <code>next</code> (also in the <code>Link</code>
header). <code>page_size</code> up to 1000. <code>since</code> (ISO 8601) on versions and citations returns what changed.</li>
<li><b>Quotas</b>: anonymous clients are throttled by address; registries get a higher quota with a token
(<code>Authorization: Token &lt;key&gt;</code>, issued by the site's administrators). A quota is counted per window
(a minute for a rate per minute), each client's window starting at its own second. Over quota: <code>429</code> with
<code>Retry-After</code>, the seconds until your window turns.</li>
<li><b>Unknown parameters are errors</b>: a misspelt filter is a <code>400</code> naming the accepted ones.</li>
</ul>
<h2>Example: the latest pooled mRSS result</h2>
<pre>curl -i '{{ example_url }}'
curl -i '{{ example_url }}&amp;format=csv'
curl -i '{{ example_url }}&amp;format=fhir'
curl -i -H 'If-None-Match: "&lt;ETag from the first answer&gt;"' '{{ example_url }}'   # 304</pre>
<h2>Endpoints</h2>
{% for op in operations %}
<h3 id="{{ op.id }}"><code>{{ op.method }} {{ op.path }}</code></h3>
{% if op.description %}<p>{{ op.description|linebreaksbr }}</p>{% endif %}
{% if op.parameters %}<table><caption>Parameters of <code>{{ op.method }} {{ op.path }}</code></caption>
<thead><tr><th scope="col">Parameter</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead>
{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code>{% if p.required %} (required){% endif %}</td><td>{{ p.in }}</td>
<td>{{ p.type }}{% if p.enum %}: {{ p.enum|join:", " }}{% endif %}</td><td>{{ p.description }}</td></tr>{% endfor %}
</table>{% endif %}
<p>Formats: {% for m in op.media_types %}<code>{{ m }}</code>{% if not forloop.last %}, {% endif %}{% endfor %}.
Answers: {{ op.codes|join:", " }}.</p>
{% endfor %}
</main>
</body></html>
"""


@lru_cache(maxsize=1)
def api_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict) -> list[dict]:
    found = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            success = op.get("responses", {}).get("200", {})
            found.append(
                {
                    "id": op.get("operationId", ""),
                    "method": method.upper(),
                    "path": path,
                    "description": op.get("description", ""),
                    "parameters": [_parameter(p) for p in op.get("parameters", [])],
                    "media_types": list(success.get("content", {})),
                    "codes": sorted(op.get("responses", {})),
                }
            )
    return found


def _parameter(p: dict) -> dict:
    schema = p.get("schema", {})
    return {
        "name": p.get("name"),
        "in": p.get("in"),
        "required": p.get("required", False),
        "type": schema.get("format") or schema.get("type", ""),
        "enum": schema.get("enum", []),
        "description": p.get("description", ""),
    }


def render_docs(request) -> str:
    schema = api_schema()
    example = reverse("api:latest-pooled-result-list", kwargs={"slug": "msc-ssc"})
    context = {
        "info": schema.get("info", {}),
        "schema_url": request.build_absolute_uri(reverse("api:schema")),
        "example_url": request.build_absolute_uri(example) + "?outcome=mrss&subgroup=overall",
        "operations": operations(schema),
        "css_url": static("evidence/api-docs.css"),  # a file: the Content-Security-Policy allows no inline style
    }
    return _template().render(Context(context))


@lru_cache(maxsize=1)
def _template():
    return Engine().from_string(PAGE)
