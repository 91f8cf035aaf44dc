"""Generic tests for registered models (the NetBox ``ViewTestCases`` idea, kept small).

A model's test class picks the mixins it wants and supplies a few hooks::

    class PersonTest(ModelTestCases.UI, ModelTestCases.API, ModelTestCases.Import):
        model = Person
        def make_object(self, unit, **kw): return PersonFactory(unit=unit, **kw)
        def form_data(self, unit): return {"unit": unit.pk, "name": "李四", "is_active": "on"}
        update_data = {"name": "李四四"}
        def api_data(self, unit): return {"unit": unit.pk, "name": "王五"}
        def import_rows(self, unit): return [{"unit": unit.code, "name": "赵六"}, ...]
        def bad_import_row(self, unit): return {"unit": unit.code, "name": ""}

Every mixin runs as a user of district A whose roles grant all four actions on the model, and checks that the same
request for an object of sibling district B answers 404 (or leaves it untouched for bulk actions).
"""

import contextlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import TestCase, override_settings
from django.urls import reverse
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from .models import AuditEntry
from .registry import registry
from .roles import ACTIONS

PASSWORD = "Test@2026pass"
BACKEND = "django.contrib.auth.backends.ModelBackend"


def build_test_tree():
    """City → districts A and B (siblings) → one school under A. Codes are valid and fictitious."""
    unit_model = apps.get_model(settings.EDUSEC_UNIT_MODEL)
    root = unit_model.objects.add_root(
        instance=unit_model(name="测试市教育局", code="329900", unit_type="city", division_code="329900")
    )
    unit_a = unit_model.objects.add_child(
        root, instance=unit_model(name="甲区教育局", code="329901", unit_type="district", division_code="329901")
    )
    unit_b = unit_model.objects.add_child(
        root, instance=unit_model(name="乙区教育局", code="329902", unit_type="district", division_code="329902")
    )
    school_a = unit_model.objects.add_child(
        unit_a,
        instance=unit_model(
            name="甲区第一小学", code="2132990001", unit_type="school", school_code="2132990001", stages=["primary"]
        ),
    )
    return root, unit_a, unit_b, school_a


def make_user(username, unit, roles, **extra):
    user = get_user_model().objects.create_user(username, password=PASSWORD, unit=unit, **extra)
    user.groups.add(*Group.objects.filter(name__in=roles))
    return user


@override_settings(EDUSEC_REQUIRE_2FA=False)
class ScopedTestCase(TestCase):
    """A tree, a user in district A and one in sibling district B, both with ``roles``."""

    roles: tuple = ()

    @classmethod
    def setUpTestData(cls):
        cls.root, cls.unit_a, cls.unit_b, cls.school_a = build_test_tree()
        cls.user = make_user("tester_a", cls.unit_a, cls.roles)
        cls.other = make_user("tester_b", cls.unit_b, cls.roles)

    def setUp(self):
        self.client.force_login(self.user, backend=BACKEND)
        for unit in (self.root, self.unit_a, self.unit_b, self.school_a):
            unit.refresh_from_db()


class _ModelBase(ScopedTestCase):
    model = None
    update_data: dict = {}
    bulk_edit_data: dict = {}

    @classmethod
    def setUpTestData(cls):
        config = registry.get(cls.model)
        matrix = config.role_matrix()
        cls.roles = tuple(r for r, acts in matrix.items() if set(ACTIONS) <= set(acts.split()))[:1]
        assert cls.roles, f"no role may do everything on {config.label}"
        super().setUpTestData()

    @property
    def config(self):
        return registry.get(self.model)

    # hooks ------------------------------------------------------------------------------------------------------------
    def make_object(self, unit, **kwargs):
        raise NotImplementedError

    def form_data(self, unit) -> dict:
        raise NotImplementedError

    def objects_in(self, unit):
        """Rows of the model that belong to ``unit`` (for the Unit model: its children)."""
        if hasattr(self.model, "unit_id"):
            return self.model.objects.filter(unit=unit)
        return self.model.objects.filter(path__startswith=unit.path, depth=unit.depth + 1)

    # helpers ----------------------------------------------------------------------------------------------------------
    def url(self, view, obj=None):
        return self.config.url(view, obj)

    def audit_entries(self, action, obj=None):
        qs = AuditEntry.objects.filter(action=action, object_type=self.model._meta.label_lower)
        if obj is not None:
            qs = qs.filter(object_id=str(obj.pk))
        return qs

    def mine_and_sibling(self):
        return self.make_object(self.unit_a), self.make_object(self.unit_b)


class ModelTestCases:
    class UI(_ModelBase):
        """List, detail, create, edit, delete, bulk edit/delete and export through the pages."""

        def test_anonymous_is_sent_to_login(self):
            self.client.logout()
            response = self.client.get(self.url("list"))
            self.assertEqual(response.status_code, 302)
            self.assertIn(reverse(settings.LOGIN_URL), response["Location"])

        def test_list_shows_own_subtree_only(self):
            mine, theirs = self.mine_and_sibling()
            response = self.client.get(self.url("list"))
            self.assertEqual(response.status_code, 200)
            self.assertContains(response, self.url("detail", mine))
            self.assertNotContains(response, self.url("detail", theirs))

        def test_detail(self):
            mine, theirs = self.mine_and_sibling()
            self.assertEqual(self.client.get(self.url("detail", mine)).status_code, 200)
            self.assertEqual(self.client.get(self.url("detail", theirs)).status_code, 404)

        def test_create(self):
            before = self.objects_in(self.unit_a).count()
            response = self.client.post(self.url("add"), self.form_data(self.unit_a))
            self.assertEqual(
                response.status_code,
                302,
                getattr(response, "context", None) and response.context.get("form") and response.context["form"].errors,
            )
            self.assertEqual(self.objects_in(self.unit_a).count(), before + 1)
            created = self.objects_in(self.unit_a).order_by("-pk").first()
            entry = self.audit_entries("create", created).get()
            self.assertEqual(entry.username, self.user.username)

        def test_create_in_sibling_unit_is_refused(self):
            before = self.model.objects.count()
            response = self.client.post(self.url("add"), self.form_data(self.unit_b))
            self.assertEqual(response.status_code, 200)  # the form comes back with an error
            self.assertTrue(response.context["form"].errors)
            self.assertEqual(self.model.objects.count(), before)

        def test_edit(self):
            mine, theirs = self.mine_and_sibling()
            data = {**self.form_data(self.unit_a), **self.update_data}
            response = self.client.post(self.url("edit", mine), data)
            self.assertEqual(response.status_code, 302, response.context and response.context["form"].errors)
            mine.refresh_from_db()
            for key, value in self.update_data.items():
                self.assertEqual(str(getattr(mine, key)), str(value))
            entry = self.audit_entries("update", mine).latest("seq")
            self.assertTrue(set(self.update_data) & set(entry.changes))
            self.assertEqual(self.client.get(self.url("edit", theirs)).status_code, 404)
            self.assertEqual(self.client.post(self.url("edit", theirs), data).status_code, 404)

        def test_delete(self):
            mine, theirs = self.mine_and_sibling()
            self.assertEqual(self.client.get(self.url("delete", mine)).status_code, 200)
            self.assertEqual(self.client.post(self.url("delete", theirs)).status_code, 404)
            self.assertTrue(self.model.objects.filter(pk=theirs.pk).exists())
            response = self.client.post(self.url("delete", mine))
            self.assertEqual(response.status_code, 302)
            self.assertFalse(self.model.objects.filter(pk=mine.pk).exists())
            self.assertEqual(self.audit_entries("delete", mine).count(), 1)

        def test_bulk_edit_touches_own_subtree_only(self):
            self.assertTrue(self.bulk_edit_data, "give bulk_edit_data for the model's bulk-editable fields")
            mine, theirs = self.mine_and_sibling()
            data = {"pk": [mine.pk, theirs.pk], "_apply": "1", **self.bulk_edit_data}
            response = self.client.post(self.url("bulk_edit"), data)
            self.assertEqual(response.status_code, 302)
            mine.refresh_from_db()
            theirs_before = {k: getattr(theirs, k) for k in self.bulk_edit_data}
            theirs.refresh_from_db()
            for key, value in self.bulk_edit_data.items():
                self.assertEqual(str(getattr(mine, key)), str(value))
                self.assertEqual(getattr(theirs, key), theirs_before[key])

        def test_bulk_delete_touches_own_subtree_only(self):
            mine, theirs = self.mine_and_sibling()
            response = self.client.post(self.url("bulk_delete"), {"pk": [mine.pk, theirs.pk], "_confirm": "1"})
            self.assertEqual(response.status_code, 302)
            self.assertFalse(self.model.objects.filter(pk=mine.pk).exists())
            self.assertTrue(self.model.objects.filter(pk=theirs.pk).exists())

        def test_export_csv_and_xlsx(self):
            mine, theirs = self.mine_and_sibling()
            response = self.client.get(self.url("list") + "?export=csv")
            self.assertEqual(response.status_code, 200)
            text = response.content.decode("utf-8-sig")
            ids = {line.split(",")[0] for line in text.splitlines()[1:]}
            self.assertIn(str(mine.pk), ids)
            self.assertNotIn(str(theirs.pk), ids)
            response = self.client.get(self.url("list") + "?export=xlsx")
            self.assertEqual(response.status_code, 200)
            sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
            ids = {str(row[0]) for row in sheet.iter_rows(min_row=2, values_only=True)}
            self.assertIn(str(mine.pk), ids)
            self.assertNotIn(str(theirs.pk), ids)
            self.assertEqual(AuditEntry.objects.filter(action="export", username=self.user.username).count(), 2)

        def test_chosen_columns_are_remembered(self):
            columns = [name for name, _label in self.config.table.selectable_columns()][:2]
            self.client.post(self.url("list"), {"columns": columns})
            response = self.client.get(self.url("list"))
            self.assertEqual(response.context["visible_columns"], columns)

    class API(_ModelBase):
        """The REST endpoint: same scoping, writes audited."""

        def setUp(self):
            super().setUp()
            self.api = APIClient()
            self.api.force_authenticate(self.user)

        def api_data(self, unit) -> dict:
            raise NotImplementedError

        def api_url(self, obj=None):
            base = f"{self.model._meta.app_label}-{self.model._meta.model_name}"
            return reverse(f"{base}-detail", kwargs={"pk": obj.pk}) if obj else reverse(f"{base}-list")

        def test_api_requires_authentication(self):
            self.assertIn(APIClient().get(self.api_url()).status_code, (401, 403))

        def test_api_list_and_retrieve(self):
            mine, theirs = self.mine_and_sibling()
            response = self.api.get(self.api_url(), {"page_size": 1000})
            self.assertEqual(response.status_code, 200)
            ids = {row["id"] for row in response.json()["results"]}
            self.assertIn(mine.pk, ids)
            self.assertNotIn(theirs.pk, ids)
            self.assertEqual(self.api.get(self.api_url(mine)).status_code, 200)
            self.assertEqual(self.api.get(self.api_url(theirs)).status_code, 404)

        def test_api_create(self):
            response = self.api.post(self.api_url(), self.api_data(self.unit_a), format="json")
            self.assertEqual(response.status_code, 201, response.content)
            created = self.model.objects.get(pk=response.json()["id"])
            self.assertEqual(self.audit_entries("create", created).count(), 1)
            before = self.model.objects.count()
            response = self.api.post(self.api_url(), self.api_data(self.unit_b), format="json")
            self.assertEqual(response.status_code, 400, response.content)
            self.assertEqual(self.model.objects.count(), before)

        def test_api_update(self):
            mine, theirs = self.mine_and_sibling()
            response = self.api.patch(self.api_url(mine), self.update_data, format="json")
            self.assertEqual(response.status_code, 200, response.content)
            self.assertTrue(self.audit_entries("update", mine).exists())
            self.assertEqual(self.api.patch(self.api_url(theirs), self.update_data, format="json").status_code, 404)

        def test_api_delete(self):
            mine, theirs = self.mine_and_sibling()
            self.assertEqual(self.api.delete(self.api_url(theirs)).status_code, 404)
            self.assertEqual(self.api.delete(self.api_url(mine)).status_code, 204)
            self.assertFalse(self.model.objects.filter(pk=mine.pk).exists())
            self.assertTrue(self.model.objects.filter(pk=theirs.pk).exists())

    class Import(_ModelBase):
        """The XLSX template and the all-or-nothing import."""

        def import_rows(self, unit) -> list[dict]:
            raise NotImplementedError

        def bad_import_row(self, unit) -> dict:
            raise NotImplementedError

        def workbook(self, rows) -> io.BytesIO:
            from .xlsx import header_for

            form = self.config.form(user=self.user)
            wb = Workbook()
            ws = wb.active
            names = self.config.import_fields
            ws.append([header_for(form.fields[n], n) for n in names])
            for row in rows:
                ws.append([row.get(n, "") for n in names])
            buffer = io.BytesIO()
            wb.save(buffer)
            buffer.seek(0)
            buffer.name = "import.xlsx"
            return buffer

        def test_template_has_headers_and_dropdowns(self):
            response = self.client.get(self.url("import_template"))
            self.assertEqual(response.status_code, 200)
            wb = load_workbook(io.BytesIO(response.content))
            ws = wb.worksheets[0]
            headers = [c.value for c in ws[1]]
            self.assertEqual(len(headers), len(self.config.import_fields))
            form = self.config.form(user=self.user)
            choice_fields = [n for n in self.config.import_fields if getattr(form.fields[n], "choices", None)]
            if choice_fields:
                self.assertTrue(ws.data_validations.dataValidation, "choice columns need drop-downs")

        def test_import_all_rows(self):
            rows = self.import_rows(self.unit_a)
            before = self.model.objects.count()
            response = self.client.post(self.url("import"), {"file": self.workbook(rows)})
            self.assertEqual(
                response.status_code, 302, response.context and [str(e) for e in response.context.get("errors") or []]
            )
            self.assertEqual(self.model.objects.count(), before + len(rows))
            self.assertTrue(AuditEntry.objects.filter(action="import", result="success").exists())

        def test_import_with_a_bad_row_writes_nothing(self):
            rows = self.import_rows(self.unit_a)
            rows.insert(1, self.bad_import_row(self.unit_a))
            before = self.model.objects.count()
            response = self.client.post(self.url("import"), {"file": self.workbook(rows)})
            self.assertEqual(response.status_code, 200)
            errors = response.context["errors"]
            self.assertTrue(errors)
            self.assertEqual(errors[0].row, 3)  # header is row 1, the bad row is the second data row
            self.assertEqual(self.model.objects.count(), before)

        def test_import_into_sibling_unit_is_refused(self):
            rows = self.import_rows(self.unit_b)
            before = self.model.objects.count()
            response = self.client.post(self.url("import"), {"file": self.workbook(rows)})
            self.assertEqual(response.status_code, 200)
            self.assertTrue(response.context["errors"])
            self.assertEqual(self.model.objects.count(), before)

        def test_import_rejects_a_file_that_is_not_xlsx(self):
            upload = io.BytesIO(b"name,unit\n1,2\n")
            upload.name = "data.xlsx"
            response = self.client.post(self.url("import"), {"file": upload})
            self.assertEqual(response.status_code, 200)
            self.assertTrue(response.context["form"].errors)

    class All(UI, API, Import):
        pass


# ---- a real Celery worker on Redis (tests marked "celery") ----------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/15"


def require_redis() -> str:
    """The tests' Redis URL. Redis not answering on 127.0.0.1:6379 skips the test, or fails it in CI."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return REDIS_URL
    except OSError:
        pass
    message = "Redis is not answering on 127.0.0.1:6379"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message + " (required in CI)")
    pytest.skip(message)


class CeleryWorker:
    """A ``celery worker`` process of this project (solo pool) consuming ``queue``; ``log()`` is what it wrote."""

    def __init__(self, env: dict, queue: str, name: str):
        self.queue, self.name = queue, name
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "edusec", "worker", "--pool=solo", "-Q", queue, "-n", f"{name}@%h",
             "--loglevel=INFO", "--prefetch-multiplier=1", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=REPO_ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the worker says it is ready to take tasks (it died or took too long: the test fails, with its log)."""
        deadline = time.monotonic() + timeout
        while " ready." not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"celery worker {self.name} did not start:\n{self.log()[-5000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        output = self.log()
        self._log.close()
        if output:
            print(f"---- celery worker {self.name} output ----\n" + output[-5000:])


@contextlib.contextmanager
def celery_workers(env: dict, queue: str, count: int = 1):
    """``count`` real worker processes of this project on ``queue``, with ``env`` (settings, data directory, broker);
    stopped at the end, their output printed (pytest shows it when the test fails)."""
    env = {"DJANGO_SETTINGS_MODULE": "edusec.settings", "PYTHONPATH": str(REPO_ROOT), **env}
    workers = []
    try:
        for number in range(count):
            workers.append(CeleryWorker(env, queue, f"w{number + 1}"))
        yield workers
    finally:
        for worker in workers:
            worker.stop()
