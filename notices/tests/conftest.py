"""A region for the notices tests: a city, two districts, two schools under A and one under B, their people, and
open findings in the schools."""

import itertools

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from core.testing import BACKEND, build_test_tree, make_user
from findings.models import Finding

_n = itertools.count(1)


@pytest.fixture(autouse=True)
def platform(settings, tmp_path):
    settings.EDUSEC_REQUIRE_2FA = False
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def region(db):
    unit_model = apps.get_model(settings.EDUSEC_UNIT_MODEL)
    root, unit_a, unit_b, school_a = build_test_tree()
    root.short_name = "测试市"
    root.save()
    unit_model.objects.add_child(
        unit_model.objects.get(pk=unit_a.pk),
        instance=unit_model(name="甲区第二中学", code="2132990002", unit_type="school", school_code="2132990002"),
    )
    unit_model.objects.add_child(
        unit_model.objects.get(pk=unit_b.pk),
        instance=unit_model(name="乙区实验小学", code="2132990003", unit_type="school", school_code="2132990003"),
    )
    units = {u.code: u for u in unit_model.objects.all()}
    return {
        "city": units["329900"],
        "a": units["329901"],
        "b": units["329902"],
        "school_a": units["2132990001"],
        "school_a2": units["2132990002"],
        "school_b": units["2132990003"],
    }


@pytest.fixture
def people(region):
    return {
        "city_sec": make_user("city_sec", region["city"], ["security_officer"]),
        "a_sec": make_user("a_sec", region["a"], ["security_officer"]),
        "b_sec": make_user("b_sec", region["b"], ["security_officer"]),
        "netadmin_a": make_user("netadmin_a", region["school_a"], ["school_netadmin"]),
        "cio_a": make_user("cio_a", region["school_a"], ["school_cio"]),
        "netadmin_a2": make_user("netadmin_a2", region["school_a2"], ["school_netadmin"]),
        "netadmin_b": make_user("netadmin_b", region["school_b"], ["school_netadmin"]),
        "auditor": make_user("auditor", region["city"], ["auditor"]),
    }


def make_finding(unit, **kwargs):
    n = next(_n)
    values = {
        "title": f"后台弱口令 {n}",
        "severity": "high",
        "host": f"h{n}.school.example",
        "tool": "nuclei",
        "fingerprint": f"fp{n:08d}",
        "attributed": True,
    }
    values.update(kwargs)
    return Finding.objects.create(unit=unit, **values)


@pytest.fixture
def findings(region):
    return {
        "a1": make_finding(region["school_a"], severity="high"),
        "a2": make_finding(region["school_a"], severity="critical", url="https://www.school-a.example/admin/"),
        "a2_1": make_finding(region["school_a2"], severity="medium"),
        "b1": make_finding(region["school_b"], severity="high"),
    }


def client_for(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user, backend=BACKEND)
    return client


def api_for(user):
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(user)
    return api
