"""Excel in and out, in the shape bureaus use: Chinese headers, drop-downs for choice fields, row-level error reports.

* ``build_template`` — the import template of a registered model: one header per import field (``*`` marks required),
  drop-down validation for every choice field and for related objects the user may pick.
* ``parse_import`` — reads an uploaded workbook, validates every row through the model's own form, and returns either
  the bound forms (all valid) or every error with its row number and column header. Writing is the caller's job and
  happens only when there is no error at all.
* ``export_rows`` / ``write_xlsx`` / ``write_csv`` — the filtered list, in the same columns, re-importable.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from .crypto import mask_value

MULTI_SEPARATORS = re.compile(r"[,，、;；/]+")
TRUE_WORDS = {"是", "true", "yes", "y", "1", "√", "✓"}
FALSE_WORDS = {"否", "false", "no", "n", "0", "×", ""}
MAX_IMPORT_ROWS = 5000
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self):
        if self.column:
            return _("Row %(row)s, column “%(column)s”: %(message)s") % {
                "row": self.row,
                "column": self.column,
                "message": self.message,
            }
        return _("Row %(row)s: %(message)s") % {"row": self.row, "message": self.message}


class ImportFileError(Exception):
    """The file as a whole cannot be read (not a workbook, wrong headers, too many rows)."""


def import_key(model) -> str:
    """The field by which rows of ``model`` are named in a spreadsheet (its natural key), e.g. a unit's code."""
    return getattr(model, "import_key", "pk")


def use_natural_keys(form, names):
    """Related objects are named in a spreadsheet by their natural key (a unit by its code), not by database ID."""
    for name in names:
        field = form.fields[name]
        if isinstance(field, forms.ModelChoiceField):
            key = import_key(field.queryset.model)
            if key != "pk":
                field.to_field_name = key


def header_for(field: forms.Field, name: str) -> str:
    label = capfirst(str(field.label or name))
    return f"{label} *" if field.required else label


def clean_header(text) -> str:
    return str(text or "").replace("*", "").strip().lower()


def _choice_labels(field) -> list[tuple[str, str]]:
    return [(str(v), str(label)) for v, label in field.choices if v not in ("", None)]


# ---- template -------------------------------------------------------------------------------------------------------


def build_template(config, user) -> Workbook:
    form = config.form(user=user)
    wb = Workbook()
    ws = wb.active
    ws.title = str(config.verbose_name_plural)[:31]
    lists = wb.create_sheet("_lists")
    lists.sheet_state = "hidden"
    list_col = 0
    for index, name in enumerate(config.import_fields, start=1):
        field = form.fields[name]
        cell = ws.cell(row=1, column=index, value=header_for(field, name))
        cell.font = Font(bold=True, color="9C0006" if field.required else "000000")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if field.help_text:
            cell.comment = Comment(str(field.help_text), "EduSec")
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = max(14, min(40, len(cell.value) * 2 + 4))
        for row in range(2, 1002):
            ws.cell(row=row, column=index).number_format = "@"  # keep codes as text: no lost leading zeros
        options = _dropdown_options(field)
        if options:
            list_col += 1
            list_letter = get_column_letter(list_col)
            for i, option in enumerate(options, start=1):
                lists.cell(row=i, column=list_col, value=option)
            rng = f"{quote_sheetname('_lists')}!${list_letter}$1:${list_letter}${len(options)}"
            multiple = isinstance(field, forms.MultipleChoiceField)
            dv = DataValidation(
                type="list",
                formula1=rng,
                allow_blank=not field.required,
                showErrorMessage=not multiple,  # several stages go in one cell, separated by 、
                errorTitle=_("Invalid value"),
                error=_("Choose a value from the list."),
                promptTitle=str(field.label),
                prompt=_("Choose from the list")
                if not multiple
                else _("Choose from the list; separate several values with 、"),
            )
            dv.showInputMessage = True
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}1001")
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 30
    return wb


def _dropdown_options(field) -> list[str]:
    if isinstance(field, forms.ModelChoiceField):
        key = import_key(field.queryset.model)
        values = list(field.queryset.values_list(key, flat=True)[:2000])
        return [str(v) for v in values]
    if isinstance(field, forms.BooleanField):
        return ["是", "否"]
    if isinstance(field, (forms.ChoiceField, forms.TypedChoiceField, forms.MultipleChoiceField)):
        return [label for _v, label in _choice_labels(field)]
    return []


# ---- import ---------------------------------------------------------------------------------------------------------


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _labels_to_values(field) -> dict[str, str]:
    """Every way a choice may be written in a cell: its value, or its label in any installed language."""
    mapping = {}
    for lang, _name in settings.LANGUAGES:
        with translation.override(lang):
            for value, label in _choice_labels(field):
                mapping.setdefault(str(label).lower(), value)
    for value, _label in _choice_labels(field):
        mapping.setdefault(value.lower(), value)
    return mapping


def _to_form_value(field, text: str):
    """Convert one cell to what the form field accepts (choice labels → values, 是/否 → booleans)."""
    if isinstance(field, forms.MultipleChoiceField):
        by_label = _labels_to_values(field)
        parts = [p.strip() for p in MULTI_SEPARATORS.split(text) if p.strip()]
        return [by_label.get(p.lower(), p) for p in parts]
    if isinstance(field, forms.ModelChoiceField):
        return text
    if isinstance(field, (forms.ChoiceField, forms.TypedChoiceField)):
        return _labels_to_values(field).get(text.lower(), text)
    if isinstance(field, forms.BooleanField):
        lowered = text.lower()
        if lowered in TRUE_WORDS:
            return "on"
        if lowered in FALSE_WORDS:
            return ""
        return "invalid"
    return text


def read_rows(upload):
    """Yield (excel_row_number, {header: text}) for non-blank rows of the first sheet."""
    try:
        wb = load_workbook(upload, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise ImportFileError(_("The file cannot be read as an XLSX workbook: %s") % exc) from exc
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    try:
        header = next(rows)
    except StopIteration:
        raise ImportFileError(_("The workbook is empty.")) from None
    headers = [_cell_text(h) for h in header]
    count = 0
    for number, values in enumerate(rows, start=2):
        texts = [_cell_text(v) for v in values]
        if not any(texts):
            continue
        count += 1
        if count > MAX_IMPORT_ROWS:
            raise ImportFileError(_("At most %d rows can be imported at once.") % MAX_IMPORT_ROWS)
        yield number, headers, texts
    wb.close()


def parse_import(config, user, upload):
    """Validate every row. Returns (forms, errors); forms are only usable when errors is empty."""
    template_form = config.form(user=user)
    columns = {}
    for name in config.import_fields:
        columns[clean_header(header_for(template_form.fields[name], name))] = name
    errors: list[RowError] = []
    bound_forms = []
    seen_unique: dict[str, dict[str, int]] = {}
    checked_headers = False
    for number, headers, texts in read_rows(upload):
        if not checked_headers:
            checked_headers = True
            present = {clean_header(h) for h in headers}
            missing = [
                header_for(template_form.fields[n], n)
                for key, n in columns.items()
                if key not in present and template_form.fields[n].required
            ]
            # "ID" is what the export adds in front of the template's columns: ignored, so an export re-imports.
            unknown = [h for h in headers if h and clean_header(h) not in columns and clean_header(h) != "id"]
            if missing:
                raise ImportFileError(_("Required columns are missing: %s") % "、".join(missing))
            if unknown:
                raise ImportFileError(_("Unknown columns (use the template's headers): %s") % "、".join(unknown))
        row = {clean_header(h): t for h, t in zip(headers, texts, strict=False) if h}
        data = {}
        form = config.form(user=user)
        for key, name in columns.items():
            data[name] = _to_form_value(form.fields[name], row.get(key, ""))
        form = config.form(data=data, user=user)
        use_natural_keys(form, columns.values())
        if form.is_valid():
            bound_forms.append((number, form))
            _check_unique_in_file(config.model, form, number, seen_unique, errors, template_form)
        else:
            for name, messages in form.errors.items():
                column = header_for(template_form.fields[name], name).rstrip(" *") if name in form.fields else ""
                for message in messages:
                    errors.append(RowError(number, column, message))
    if not checked_headers:
        raise ImportFileError(_("The file has no data rows."))
    return bound_forms, errors


def _check_unique_in_file(model, form, number, seen, errors, template_form):
    """Two rows of one file must not claim the same unique value (the database would refuse the second)."""
    for field in model._meta.fields:
        if not field.unique or field.name not in form.cleaned_data:
            continue
        value = form.cleaned_data[field.name]
        if value in (None, ""):
            continue
        first = seen.setdefault(field.name, {}).setdefault(str(value), number)
        if first != number:
            column = header_for(template_form.fields[field.name], field.name).rstrip(" *")
            errors.append(
                RowError(number, column, _("Same value as row %(row)s: %(value)s") % {"row": first, "value": value})
            )


# ---- export ---------------------------------------------------------------------------------------------------------


def export_columns(config, user) -> list[tuple[str, str]]:
    form = config.form(user=user) if config.form else None
    columns = []
    for name in config.get_export_fields():
        if name == "id":
            columns.append((name, "ID"))
            continue
        if form is not None and name in form.fields:
            label = form.fields[name].label or name
        else:
            try:
                label = config.model._meta.get_field(name).verbose_name
            except FieldDoesNotExist:
                label = name
        columns.append((name, capfirst(str(label))))
    return columns


def export_value(obj, name):
    """The text of ``obj``'s ``name`` in an export: the model's ``export_<name>`` when it has one (what a reader
    should see rather than what is stored), else the field's value as the form shows it."""
    custom = getattr(obj, f"export_{name}", None)
    if custom is not None:
        value = custom() if callable(custom) else custom
        return "" if value is None else str(value)
    try:
        field = obj._meta.get_field(name)
    except FieldDoesNotExist:
        value = getattr(obj, name, "")
        value = value() if callable(value) else value
        return "" if value is None else str(value)
    if getattr(field, "sensitive", False):
        return mask_value(getattr(obj, field.attname) or "")
    if field.is_relation and field.many_to_one:
        related = getattr(obj, name)
        return "" if related is None else str(getattr(related, import_key(related.__class__)))
    if field.choices:
        return str(getattr(obj, f"get_{name}_display")())
    value = getattr(obj, field.attname)
    if isinstance(field, models.BooleanField):
        return "是" if value else "否"
    if isinstance(field, models.JSONField) and isinstance(value, list):
        labels = dict(getattr(obj, f"{name}_choices", []) or [])
        return "、".join(str(labels.get(v, v)) for v in value)
    if value is None:
        return ""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).isoformat()  # the bureau's clock, with its offset: 02:00+08:00, not 18:00Z
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def export_rows(config, user, queryset):
    columns = export_columns(config, user)
    yield [label for _n, label in columns]
    for obj in queryset.iterator(chunk_size=500):
        yield [export_value(obj, name) for name, _l in columns]


def write_xlsx(rows, title: str) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    for i, row in enumerate(rows):
        ws.append(row)
        if i == 0:
            ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def write_csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly
