"""A console admin, signed in once on one instance and then served by either (no sticky sessions):
its cookies and CSRF token go with every request, the way a browser behind a load balancer sends them."""

from __future__ import annotations

import json

from bs4 import BeautifulSoup

from cluster.traffic import Instances


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def csrf_of(response) -> str:
    """The CSRF token a page carries: in a form's hidden field, or in the body's hx-headers."""
    parsed = page(response)
    field = parsed.find("input", attrs={"name": "csrf_token"})
    if field is not None and field.get("value"):
        return field["value"]
    return json.loads(parsed.find("body")["hx-headers"])["X-CSRFToken"]


def form_fields(response, action: str) -> dict[str, str | list[str]]:
    """What a browser would submit from the form posting to ``action``, before anyone types."""
    form = page(response).find("form", attrs={"action": action})
    if form is None:
        raise SystemExit(f"cluster-test: no form posting to {action}")
    fields: dict[str, str | list[str]] = {}
    for control in form.find_all(["input", "textarea", "select"]):
        name = control.get("name")
        if not name or control.get("type") in ("submit", "button"):
            continue
        if control.name == "textarea":
            fields[name] = control.text
        elif control.name == "select":
            chosen = control.find("option", selected=True) or control.find("option")
            fields[name] = chosen.get("value", chosen.text) if chosen else ""
        elif control.get("type") == "checkbox":
            if control.has_attr("checked"):
                value = control.get("value", "y")
                fields[name] = [*fields[name], value] if isinstance(fields.get(name), list) else (
                    [fields[name], value] if name in fields else value)
        else:
            fields[name] = control.get("value", "")
    return fields


def sign_in_form(instances: Instances, instance: str, email: str, password: str):
    """One sign-in attempt, with a login page's CSRF token and cookie; the response."""
    login = instances.request(instance, "GET", "/auth/login", api=False)
    if login is None or login.status_code != 200:
        return None
    return instances.request(instance, "POST", "/auth/login", api=False, cookies=login.cookies,
                             data={"email": email, "password": password, "csrf_token": csrf_of(login)})


class ConsoleAdmin:
    def __init__(self, instances: Instances, instance: str, email: str, password: str):
        self.instances = instances
        signed_in = sign_in_form(instances, instance, email, password)
        if signed_in is None or signed_in.status_code != 302:
            raise SystemExit(f"cluster-test: console sign-in as {email} failed")
        self.cookies = signed_in.cookies
        account = self.get(instance, "/console/account")
        self.csrf = csrf_of(account)
        # That page put the CSRF secret into the (cookie) session; this cookie carries both from now on.
        self.cookies.update(account.cookies)

    def get(self, instance: str, path: str):
        return self.instances.request(instance, "GET", path, api=False, cookies=self.cookies)

    def post(self, instance: str, path: str, data):
        return self.instances.request(instance, "POST", path, api=False, cookies=self.cookies, data=data,
                                      headers={"X-CSRFToken": self.csrf})
