"""The admin web interface: one module per area (configs, transactions, users …).

Adding an area (README, "Adding an admin area"): a route with a factory carrying the area's
``__acl__`` in ``routes.py``, permissions named ``admin.<area>.<action>`` in ``security.py``, a view
class here with ``permission=`` on each view, templates under ``templates/admin/<area>/`` extending
``admin/layout.jinja2``, and a navigation entry with ``config.add_admin_nav(...)``.
"""

from datetime import datetime

from .nav import add_admin_nav, nav_items


def chf(cents: int | None) -> str:
    """Integer cents as Swiss francs with two decimals: ``CHF 1'234.50``."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    francs, rest = divmod(abs(cents), 100)
    return f"CHF {sign}{francs:,}.{rest:02d}".replace(",", "'")


def includeme(config) -> None:
    zone = config.registry.admin_settings.timezone

    def localtime(value: datetime | None, fmt: str = "") -> str:
        """A UTC time from the database in the organisation's time zone (polybanking.timezone),
        always with its offset: ``2026-12-01 15:08:08+01:00`` as the API writes it, or to the
        minute (``fmt="minutes"``) where a table has little room; any other ``fmt`` is strftime's."""
        if value is None:
            return ""
        local = value.astimezone(zone)
        if fmt in ("", "minutes"):
            return local.isoformat(" ", fmt or "seconds")
        return local.strftime(fmt)

    def register_filters() -> None:
        environment = config.get_jinja2_environment()
        environment.filters["chf"] = chf
        environment.filters["localtime"] = localtime
        environment.globals["admin_nav"] = nav_items

    # After pyramid_jinja2 has made its environment (its action runs at the default order).
    config.action(("polybanking.admin", "jinja2"), register_filters, order=10)

    config.add_directive("add_admin_nav", add_admin_nav)
    config.registry.admin_nav = []
    from ...routes import AdminRoot, ReconciliationRoot, UsersRoot
    from ...security import (
        CONFIG_LIST,
        EXPORT_VIEW,
        HOME,
        RECONCILIATION_VIEW,
        SUMMARY_VIEW,
        TRANSACTION_LIST,
        USER_MANAGE,
    )

    config.add_admin_nav("Home", "admin.home", HOME, AdminRoot, order=0)
    config.add_admin_nav("Configs", "admin.config.list", CONFIG_LIST, AdminRoot, order=10)
    config.add_admin_nav("Transactions", "admin.transaction.list", TRANSACTION_LIST, AdminRoot, order=20)
    config.add_admin_nav(
        "Reconciliation", "admin.reconciliation.list", RECONCILIATION_VIEW, ReconciliationRoot, order=30
    )
    config.add_admin_nav("Exports", "admin.export.form", EXPORT_VIEW, AdminRoot, order=40)
    config.add_admin_nav("Summary", "admin.summary.show", SUMMARY_VIEW, AdminRoot, order=50)
    config.add_admin_nav("Users", "admin.user.list", USER_MANAGE, UsersRoot, order=90)
