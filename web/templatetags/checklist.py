from django import template

register = template.Library()


@register.simple_tag
def checklist_progress(items) -> dict:
    """Done and total of the required items, for the progress bar."""
    required = [item for item in items if item.required]
    done = sum(1 for item in required if item.done)
    return {"done": done, "total": len(required)}
