"""Units, people, accountable roles and users through the generic UI/API/import tests."""

from core.testing import ModelTestCases
from orgs.models import Accountability, Person, Unit, User

from .factories import AccountabilityFactory, PersonFactory, UnitFactory, UserFactory


class UnitTests(ModelTestCases.All):
    model = Unit
    update_data = {"name": "甲区第二实验小学", "address": "示范市甲区梧桐路1号"}
    bulk_edit_data = {"status": "suspended"}

    def make_object(self, unit, **kwargs):
        return UnitFactory.create(unit, **kwargs)

    def form_data(self, unit):
        return {
            "parent": unit.pk,
            "name": "甲区实验小学",
            "unit_type": "school",
            "school_code": "2132990777",
            "stages": ["primary"],
            "status": "active",
        }

    def api_data(self, unit):
        return {
            "parent": unit.pk,
            "name": "甲区实验中学",
            "unit_type": "school",
            "school_code": "3132990778",
            "stages": ["junior"],
            "status": "active",
        }

    def import_rows(self, unit):
        return [
            {
                "parent": unit.code,
                "name": f"导入小学{i}",
                "unit_type": "学校",
                "school_code": f"21329910{i:02d}",
                "stages": "小学",
                "status": "正常",
            }
            for i in range(5)
        ]

    def bad_import_row(self, unit):
        return {
            "parent": unit.code,
            "name": "坏行学校",
            "unit_type": "学校",
            "school_code": "9932991099",
            "stages": "小学",
            "status": "正常",
        }


class PersonTests(ModelTestCases.All):
    model = Person
    update_data = {"position": "副校长"}
    bulk_edit_data = {"position": "网管员"}

    def make_object(self, unit, **kwargs):
        return PersonFactory(unit=unit, **kwargs)

    def form_data(self, unit):
        return {"unit": unit.pk, "name": "李四", "phone": "13900001111", "position": "教师", "is_active": "on"}

    def api_data(self, unit):
        return {"unit": unit.pk, "name": "王五", "phone": "13900002222"}

    def import_rows(self, unit):
        return [
            {"unit": unit.code, "name": f"导入人员{i}", "phone": f"1390000{i:04d}", "is_active": "是"} for i in range(5)
        ]

    def bad_import_row(self, unit):
        return {"unit": unit.code, "name": "", "phone": "abc"}


class AccountabilityTests(ModelTestCases.UI, ModelTestCases.API):
    model = Accountability
    update_data = {"remarks": "2026年调整"}
    bulk_edit_data = {"appointed_on": "2026-09-01"}

    def make_object(self, unit, **kwargs):
        return AccountabilityFactory(unit=unit, **kwargs)

    def form_data(self, unit):
        person = PersonFactory(unit=unit)
        return {"unit": unit.pk, "role": "netadmin", "person": person.pk, "netadmin_mode": "part_time"}

    def api_data(self, unit):
        person = PersonFactory(unit=unit)
        return {"unit": unit.pk, "role": "head", "person": person.pk}


class UserTests(ModelTestCases.UI, ModelTestCases.API):
    model = User
    update_data = {"full_name": "张三丰"}
    bulk_edit_data = {"is_active": False}

    def make_object(self, unit, **kwargs):
        return UserFactory(unit=unit, **kwargs)

    def form_data(self, unit):
        return {
            "username": "new_admin",
            "full_name": "新用户",
            "unit": unit.pk,
            "is_active": "on",
            "password1": "Xy@20260101z",
            "password2": "Xy@20260101z",
        }

    def api_data(self, unit):
        return {
            "username": f"api_user_{unit.code}",
            "full_name": "接口用户",
            "unit": unit.pk,
            "password": "Xy@20260101z",
        }
