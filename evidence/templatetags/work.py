"""``{% your_work %}``: the signed-in reviewer's queues across reviews (admin index and workspace home)."""

from django import template

from evidence.workspace.work import reviewer_work

register = template.Library()


@register.inclusion_tag("admin/screening/_work.html", takes_context=True)
def your_work(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    work = reviewer_work(user=user) if user is not None and user.is_authenticated else []
    return {"work": work}
