"""The tenant's brand on every hosted page (its name, logos, title, theme stylesheet) and the way back
to its app, read from what the view's session opened (``g.tenant``, ``g.return_url``).

A context processor rather than view arguments: error pages raised from anywhere in a view
(views.PageError) carry the brand too, which is what keeps a final page ("already verified", "this
link has expired") looking like the tenant's.
"""

from __future__ import annotations

from flask import g, url_for

from app.domain.theme import Theme, logo_sources


def theme_of(tenant) -> Theme:
    return Theme.from_stored(tenant.theme) if tenant is not None else Theme()


def page_brand() -> dict:
    tenant = g.get("tenant")
    if tenant is None:
        return {}
    theme = theme_of(tenant)
    logo, logo_dark = logo_sources(theme, tenant.logo_url)
    return {
        "tenant_name": tenant.name,
        "page_title": theme.page_title or tenant.name,
        "logo_src": logo,
        "logo_dark_src": logo_dark,
        # The stamp in the path makes the URL change with the theme, so browsers may keep it for good.
        "theme_stylesheet": None if theme.is_default else url_for(
            "challenge.theme_stylesheet_show", tenant_id=tenant.id, stamp=tenant.config_stamp),
        "return_url": g.get("return_url"),
    }


def image_urls(tenant) -> list[str]:
    """The tenant's logo URLs (for the CSP's img-src)."""
    if tenant is None:
        return []
    return [url for url in (tenant.logo_url, theme_of(tenant).logo_dark_url) if url]
