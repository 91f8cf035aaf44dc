"""Ledger factories. Hosts are `.example`/`.test` names; addresses come from the documentation ranges only."""

import factory

from assets.models import BusinessType, Domain, InformationSystem, IPRange, MobileApp, Screen, Website


class BusinessTypeFactory(factory.django.DjangoModelFactory):
    """The seeded types exist after migrate; asking for one of their codes returns it."""

    class Meta:
        model = BusinessType
        django_get_or_create = ("code",)

    code = "portal"
    name = factory.LazyAttribute(lambda o: o.code)


class InformationSystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InformationSystem

    name = factory.Sequence(lambda n: f"测试系统{n}")
    business_type = factory.SubFactory(BusinessTypeFactory, code="teaching")
    status = "running"
    software = "示例教学平台"
    version = "1.0"


class WebsiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Website

    name = factory.Sequence(lambda n: f"测试网站{n}")
    url = factory.Sequence(lambda n: f"https://site{n}.school.example")
    cms = "示例CMS 3.2"


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain

    name = factory.Sequence(lambda n: f"school{n}.example")
    registrar = "示例注册商"


class IPRangeFactory(factory.django.DjangoModelFactory):
    """Distinct /48s of the IPv6 documentation prefix, so that ranges of different units never collide by accident."""

    class Meta:
        model = IPRange

    cidr = factory.Sequence(lambda n: f"2001:db8:{n + 0x100:x}::/48")
    purpose = "校园网"


class MobileAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MobileApp

    name = factory.Sequence(lambda n: f"测试应用{n}")
    kind = "app"
    provider = "示例科技有限公司"


class ScreenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Screen

    name = factory.Sequence(lambda n: f"电子屏{n}")
    location = "教学楼一楼大厅"
    content_control = "manual_review"
