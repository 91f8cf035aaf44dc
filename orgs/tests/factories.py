import factory

from orgs.models import Accountability, Person, Unit, User


class UnitFactory:
    """Units hang in a tree, so they are made with treebeard rather than a plain factory."""

    counter = 0

    @classmethod
    def create(cls, parent, **kwargs):
        cls.counter += 1
        n = cls.counter
        defaults = {
            "name": f"测试学校{n}",
            "unit_type": "school",
            "school_code": f"2132{n:06d}",
            "code": f"2132{n:06d}",
            "stages": ["primary"],
        }
        defaults.update(kwargs)
        return Unit.objects.add_child(parent, instance=Unit(**defaults))


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"测试人员{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    email = factory.Sequence(lambda n: f"person{n}@edu.example")
    position = "教师"


class AccountabilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Accountability

    person = factory.SubFactory(PersonFactory, unit=factory.SelfAttribute("..unit"))
    role = "cio"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password("Test@2026pass")
