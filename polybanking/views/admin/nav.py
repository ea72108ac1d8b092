"""The admin navigation: each area registers its entry, shown to whoever has the area's permission."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    route_name: str
    permission: str
    factory: type
    order: int


def add_admin_nav(
    config, label: str, route_name: str, permission: str, factory: type, order: int = 50
) -> None:
    """Config directive: ``config.add_admin_nav("Exports", "admin.export.list", EXPORT_VIEW, ExportsRoot)``.

    ``factory`` is the area's root factory; the entry shows when its ACL grants ``permission``.
    """
    items = config.registry.admin_nav
    items.append(NavItem(label, route_name, permission, factory, order))
    items.sort(key=lambda item: item.order)


def nav_items(request) -> list[dict]:
    """Entries the signed-in user may open, with ``current`` on the area being viewed."""
    if request.identity is None:
        return []
    current = request.matched_route.name if request.matched_route else ""
    area = ".".join(current.split(".")[:2])
    return [
        {
            "label": item.label,
            "url": request.route_path(item.route_name),
            "current": ".".join(item.route_name.split(".")[:2]) == area,
        }
        for item in request.registry.admin_nav
        if request.has_permission(item.permission, item.factory(request))
    ]
