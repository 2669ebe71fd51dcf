"""Data: custom data points (typed custom.* fields), custom lists for rules, and the instance-wide
network lists behind ip.isAnonymous / ip.cidrLists (admins only).

Views stay thin: parse a form, call one service, render the page (or its ``_`` fragment for htmx).
The three kinds share one Data page and its tabs, so their views stay together.
"""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from app.console import bp
from app.console.forms import ConfirmForm, ServiceForm, submitted
from app.domain.errors import DomainError
from app.htmx import redirect_to, render
from app.models import CustomDataPoint, CustomList
from app.models.base import utcnow
from app.services.rulesets import custom_lists, data_points, network_lists

# Lists are edited as text of up to MAX_ITEMS lines: more than the API's 64 KiB body limit.
LIST_BODY_LIMIT = 4 * 1024 * 1024
LIST_ENDPOINTS = frozenset({"console.custom_list_create", "console.custom_list_update", "console.custom_list_import",
                            "console.network_list_import"})


@bp.url_value_preprocessor
def _allow_large_lists(endpoint: str | None, values: dict | None) -> None:
    # Runs before CSRF protection reads the form; only signed-in admins get the larger limit.
    if endpoint in LIST_ENDPOINTS and current_user.is_authenticated and current_user.is_admin:
        request.max_content_length = LIST_BODY_LIMIT
        request.max_form_memory_size = LIST_BODY_LIMIT


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class DataPointForm(ServiceForm):
    # Parsing and CSRF only: the rules for names and types live in the service.
    name = StringField("Name", validators=[Length(max=200)])
    model_type = RadioField("Applies to", choices=_choices(data_points.MODEL_TYPES), default="action",
                            validate_choice=False)
    data_type = SelectField("Type", choices=_choices(data_points.DATA_TYPES), default="text", validate_choice=False)
    description = TextAreaField("Description", validators=[Length(max=2000)])

    @classmethod
    def for_point(cls, point: CustomDataPoint) -> DataPointForm:
        return cls(formdata=None, name=point.name, model_type=point.model_type, data_type=point.data_type,
                   description=point.description)

    def to_input(self) -> data_points.DataPointInput:
        return data_points.DataPointInput(name=self.name.data or "", data_type=self.data_type.data or "",
                                          model_type=self.model_type.data or "", description=self.description.data or "")


class ListForm(ServiceForm):
    name = StringField("Name", validators=[Length(max=200)])
    kind = RadioField("Holds", choices=_choices(custom_lists.LIST_KINDS), default="strings", validate_choice=False)
    description = TextAreaField("Description", validators=[Length(max=2000)])
    items = TextAreaField("Items, one per line")

    @classmethod
    def for_list(cls, row: CustomList) -> ListForm:
        return cls(formdata=None, name=row.name, kind=row.kind, description=row.description,
                   items=custom_lists.format_items(row.items))

    def to_input(self) -> custom_lists.ListInput:
        return custom_lists.ListInput(name=self.name.data or "", kind=self.kind.data or "",
                                     description=self.description.data or "", items_text=self.items.data or "")


class ImportForm(FlaskForm):
    file = FileField("Text file, one item per line")
    mode = RadioField("The file's items", default="replace", validate_choice=False,
                      choices=_choices({"replace": "replace the list's items", "append": "are added to them"}))


# ---------------------------------------------------------------------------------------------
# Data points


def _point_form_page(form: DataPointForm, point: CustomDataPoint | None = None, *, status: int = 200):
    return render("console/custom_data/data_point_form.html", "console/custom_data/_data_point_form.html",
                  status=status, form=form, point=point)


@bp.get("/data/points")
def data_point_list():
    return render("console/custom_data/data_points.html", "console/custom_data/_data_points.html",
                  points=data_points.list_data_points(current_user.tenant_id), data_types=data_points.DATA_TYPES)


@bp.get("/data/points/new")
def data_point_new():
    return _point_form_page(DataPointForm(formdata=None))


@bp.post("/data/points")
def data_point_create():
    form = DataPointForm()
    point = submitted(form, lambda: data_points.create_data_point(current_user, form.to_input(), now=utcnow()))
    if point is None:
        return _point_form_page(form, status=400)
    flash(f"Data point {point.path} added: rules can use it in the builder.")
    return redirect_to(url_for("console.data_point_list"))


@bp.get("/data/points/<point_id>/edit")
def data_point_edit(point_id: str):
    point = data_points.get_data_point(current_user.tenant_id, point_id)
    return _point_form_page(DataPointForm.for_point(point), point)


@bp.post("/data/points/<point_id>")
def data_point_update(point_id: str):
    point = data_points.get_data_point(current_user.tenant_id, point_id)
    form = DataPointForm()
    form.name.data, form.model_type.data = point.name, point.model_type  # fixed once created
    if submitted(form, lambda: data_points.update_data_point(current_user, point_id, form.to_input(), now=utcnow())) is None:
        return _point_form_page(form, point, status=400)
    flash(f"Data point {point.path} saved.")
    return redirect_to(url_for("console.data_point_list"))


@bp.route("/data/points/<point_id>/delete", methods=["GET", "POST"])
def data_point_delete(point_id: str):
    point = data_points.get_data_point(current_user.tenant_id, point_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        data_points.delete_data_point(current_user, point_id, now=utcnow())
        flash(f"Data point {point.path} deleted. Rules reading it treat it as an untyped custom field.")
        return redirect_to(url_for("console.data_point_list"))
    return render("console/custom_data/data_point_delete.html", "console/custom_data/_data_point_delete.html",
                  point=point, form=form)


# ---------------------------------------------------------------------------------------------
# Lists


def _list_form_page(form: ListForm, row: CustomList | None = None, *, status: int = 200, import_form=None,
                    error: str | None = None):
    return render("console/custom_data/list_form.html", "console/custom_data/_list_form.html", status=status,
                  form=form, row=row, import_form=import_form or ImportForm(formdata=None), error=error,
                  max_items=custom_lists.MAX_ITEMS)


@bp.get("/data/lists")
def custom_list_list():
    return render("console/custom_data/lists.html", "console/custom_data/_lists.html",
                  lists=custom_lists.list_lists(current_user.tenant_id), kinds=custom_lists.LIST_KINDS)


@bp.get("/data/lists/new")
def custom_list_new():
    return _list_form_page(ListForm(formdata=None))


@bp.post("/data/lists")
def custom_list_create():
    form = ListForm()
    row = submitted(form, lambda: custom_lists.create_list(current_user, form.to_input(), now=utcnow()))
    if row is None:
        return _list_form_page(form, status=400)
    reads = (f"rules ask whether ip.cidrLists contains “{row.name}”" if row.kind == custom_lists.CIDR_KIND
             else f"rules read it as lists.{row.name}")
    flash(f"List “{row.name}” added with {row.item_count} items; {reads}.")
    return redirect_to(url_for("console.custom_list_edit", list_id=row.id))


@bp.get("/data/lists/<list_id>")
def custom_list_edit(list_id: str):
    row = custom_lists.get_list(current_user.tenant_id, list_id)
    return _list_form_page(ListForm.for_list(row), row)


@bp.post("/data/lists/<list_id>")
def custom_list_update(list_id: str):
    row = custom_lists.get_list(current_user.tenant_id, list_id)
    form = ListForm()
    form.name.data, form.kind.data = row.name, row.kind  # fixed once created
    saved = submitted(form, lambda: custom_lists.update_list(current_user, list_id, form.to_input(), now=utcnow()))
    if saved is None:
        return _list_form_page(form, row, status=400)
    flash(f"List “{saved.name}” saved with {saved.item_count} items; the next track uses them.")
    return redirect_to(url_for("console.custom_list_edit", list_id=saved.id))


@bp.post("/data/lists/<list_id>/import")
def custom_list_import(list_id: str):
    row = custom_lists.get_list(current_user.tenant_id, list_id)
    form = ImportForm()
    error = None
    if form.validate_on_submit():
        upload = form.file.data
        raw = upload.read() if upload else b""
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            error = "The file is not UTF-8 text."
        else:
            if not text.strip():
                error = "Choose a text file with one item per line."
            else:
                try:
                    row = custom_lists.import_items(current_user, list_id, text, replace=form.mode.data != "append",
                                                   now=utcnow())
                except custom_lists.InvalidCustomData as exc:
                    error = "The file was not imported: " + " ".join(m for ms in exc.fields.values() for m in ms)
                else:
                    flash(f"Imported: “{row.name}” now has {row.item_count} items.")
                    return redirect_to(url_for("console.custom_list_edit", list_id=row.id))
    else:
        error = "The form expired; reload the page and try again."
    return _list_form_page(ListForm.for_list(row), row, status=400, import_form=form, error=error)


@bp.route("/data/lists/<list_id>/delete", methods=["GET", "POST"])
def custom_list_delete(list_id: str):
    row = custom_lists.get_list(current_user.tenant_id, list_id)
    form = ConfirmForm()
    error, status = None, 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            custom_lists.delete_list(current_user, list_id, now=utcnow())
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            flash(f"List “{row.name}” deleted.")
            return redirect_to(url_for("console.custom_list_list"))
    return render("console/custom_data/list_delete.html", "console/custom_data/_list_delete.html", status=status,
                  row=row, form=form, error=error)


# ---------------------------------------------------------------------------------------------
# Network lists: instance-wide, shared by every tenant (the same service as `flask ip-lists`)


class NetworkListForm(ServiceForm):
    name = StringField("Name", validators=[Length(max=200)])
    description = StringField("Description", validators=[Length(max=2000)])
    is_anonymous = BooleanField("Anonymous: an address in it makes ip.isAnonymous true", default=True)
    file = FileField("Text file, one address or CIDR per line")
    cidrs = TextAreaField("Or paste the addresses and CIDRs, one per line")


# The service's error codes → the form field they are about.
_NETWORK_LIST_FIELDS = {"invalid_list_name": "name", "invalid_description": "description"}


def _network_lists_page(form: NetworkListForm, *, status: int = 200):
    return render("console/custom_data/network_lists.html", "console/custom_data/_network_lists.html", status=status,
                  lists=network_lists.list_network_lists(), form=form)


@bp.get("/data/network-lists")
def network_list_list():
    return _network_lists_page(NetworkListForm(formdata=None))


@bp.post("/data/network-lists")
def network_list_import():
    form = NetworkListForm()
    if form.validate_on_submit():
        upload = form.file.data
        raw = upload.read() if upload else b""
        source = "file" if raw.strip() else "cidrs"
        try:
            text = raw.decode("utf-8-sig") if source == "file" else (form.cidrs.data or "")
        except UnicodeDecodeError:
            form.file.errors = ["The file is not UTF-8 text."]
        else:
            if not text.strip():
                form.cidrs.errors = ["Choose a text file or paste at least one address or CIDR."]
            else:
                try:
                    report = network_lists.import_network_list(
                        (form.name.data or "").strip(), text.splitlines(),
                        description=(form.description.data or "").strip(), is_anonymous=bool(form.is_anonymous.data),
                        now=utcnow(), actor=current_user)
                except DomainError as exc:
                    field = _NETWORK_LIST_FIELDS.get(exc.code, "cidrs")
                    form.add_errors({source if field == "cidrs" else field: [exc.message]})
                else:
                    flash(f"Network list “{report.name}” now holds {report.count} CIDRs (version {report.version}); "
                          "every tenant's next track uses it.")
                    return redirect_to(url_for("console.network_list_list"))
    return _network_lists_page(form, status=400)


@bp.route("/data/network-lists/<name>/delete", methods=["GET", "POST"])
def network_list_delete(name: str):
    row, count = network_lists.get_network_list(name)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        network_lists.delete_network_list(name, actor=current_user, now=utcnow())
        flash(f"Network list “{name}” deleted.")
        return redirect_to(url_for("console.network_list_list"))
    return render("console/custom_data/network_list_delete.html", "console/custom_data/_network_list_delete.html",
                  row=row, count=count, form=form)
