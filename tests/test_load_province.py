"""Real units for any of the 34 provinces, from the maintained package, loaded idempotently."""

import time

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from tasks_app.models import Official, Unit


def _counts():
    return (
        Unit.objects.count(),
        Official.objects.count(),
        get_user_model().objects.count(),
        Unit.history.count(),
        Official.history.count(),
    )


def _communes(code):
    return Unit.objects.filter(parent__code=code, kind__in=Unit.COMMUNE_LEVEL)


@pytest.mark.django_db
def test_loads_hanoi_with_its_126_communes_departments_heads_and_accounts():
    call_command("load_province", "01", demo_password="demo-tinh-2026", verbosity=0)
    hanoi = Unit.objects.get(code="01")
    assert (hanoi.name, hanoi.kind, hanoi.parent) == ("UBND thành phố Hà Nội", Unit.Kind.CITY, None)
    assert _communes("01").count() == 126
    assert Unit.objects.get(code="00097").name == "Phường Hồng Hà"
    assert Unit.objects.filter(parent=hanoi, kind=Unit.Kind.DEPARTMENT, code__startswith="01-").count() >= 10
    assert not Unit.objects.filter(head__isnull=True).exists()
    leader = Official.objects.get(user__username="leader-01")
    office = Official.objects.get(user__username="office-01")
    assert (leader.role, leader.unit) == (Official.Role.LEADER, hanoi)
    assert (office.role, office.unit.code) == (Official.Role.OFFICE, "01-VP-UBND")
    assert authenticate(username="head-00097", password="demo-tinh-2026") is not None
    assert authenticate(username="leader-01", password="demo-tinh-2026") is not None


@pytest.mark.django_db
def test_a_province_is_named_tinh_and_coded_by_the_package():
    call_command("load_province", "04", verbosity=0)
    assert Unit.objects.get(code="04").kind == Unit.Kind.PROVINCE
    assert Unit.objects.get(code="04-VP-UBND").name == "Văn phòng UBND tỉnh"
    assert not get_user_model().objects.get(username="leader-04").has_usable_password()


@pytest.mark.django_db
def test_all_34_provinces_and_3321_communes_and_a_second_run_changes_nothing():
    started = time.monotonic()
    call_command("load_province", "--all", "--national-office", demo_password="demo-tinh-2026", verbosity=0)
    first_run = time.monotonic() - started
    provinces = Unit.objects.filter(parent__isnull=True, kind__in=Unit.PROVINCE_LEVEL)
    assert provinces.count() == 34
    assert Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL).count() == 3321
    assert _communes("01").count() == 126
    assert _communes("31").count() == 114
    assert _communes("79").count() == 168
    assert Unit.objects.get(code="79").name == "UBND thành phố Hồ Chí Minh"
    national = Official.objects.get(user__username="national-office")
    assert national.role == Official.Role.NATIONAL and national.unit.kind == Unit.Kind.NATION
    before = _counts()
    call_command("load_province", "--all", "--national-office", demo_password="demo-tinh-2026", verbosity=0)
    assert _counts() == before
    assert first_run < 60, f"--all took {first_run:.1f}s"


@pytest.mark.django_db
def test_load_haiphong_is_load_province_31_plus_its_named_departments_and_city_accounts():
    call_command("load_province", "31", verbosity=0)
    before = Unit.objects.count()
    call_command("load_haiphong", verbosity=0)
    assert Unit.objects.count() == before  # same units: Hải Phòng's named departments
    assert Unit.objects.get(code="BQL-KKT").parent.code == "31"
    assert Official.objects.get(user__username="city-leader").role == Official.Role.LEADER
    assert Official.objects.get(user__username="leader-31").role == Official.Role.LEADER


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [("99",), (), ("--all", "01")],
    ids=["unknown-code", "nothing-asked", "all-and-code"],
)
def test_bad_arguments_are_refused_and_nothing_is_loaded(args):
    with pytest.raises(CommandError):
        call_command("load_province", *args, verbosity=0)
    assert not Unit.objects.exists()


@pytest.mark.django_db
def test_short_demo_password_refused():
    with pytest.raises(CommandError):
        call_command("load_province", "01", demo_password="short")
    assert not Unit.objects.exists()
