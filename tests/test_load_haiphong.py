"""Hải Phòng's real units from the maintained package, loaded idempotently."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from tasks_app.models import Official, Unit


def _counts():
    return (
        Unit.objects.count(),
        Official.objects.count(),
        get_user_model().objects.count(),
        Unit.history.count(),
        Official.history.count(),
    )


@pytest.mark.django_db
def test_loads_114_commune_level_units_with_official_codes():
    call_command("load_haiphong", verbosity=0)
    communes = Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL)
    assert communes.count() == 114
    assert communes.filter(kind=Unit.Kind.WARD).count() == 45
    assert communes.filter(kind=Unit.Kind.COMMUNE).count() == 67
    assert communes.filter(kind=Unit.Kind.SPECIAL_ZONE).count() == 2
    names = dict(Unit.objects.values_list("code", "name"))
    assert names["10507"] == "Phường Thành Đông"
    assert names["10525"] == "Phường Hải Dương"
    assert names["11914"] == "Đặc khu Cát Hải"
    assert Unit.objects.filter(head__isnull=True).count() == 0
    assert Unit.objects.get(code="31").kind == Unit.Kind.CITY
    assert Unit.objects.filter(kind=Unit.Kind.DEPARTMENT).count() >= 10
    assert Official.objects.get(user__username="city-leader").role == Official.Role.LEADER
    assert Official.objects.get(user__username="city-office").role == Official.Role.OFFICE


@pytest.mark.django_db
def test_second_run_changes_nothing():
    call_command("load_haiphong", verbosity=0)
    first = _counts()
    call_command("load_haiphong", verbosity=0)
    assert _counts() == first


@pytest.mark.django_db
def test_demo_password_creates_predictable_sign_ins(capsys):
    call_command("load_haiphong", demo_password="demo-haiphong-2026")
    out = capsys.readouterr().out
    assert "city-leader" in out and "head-10507" in out
    assert authenticate(username="head-10507", password="demo-haiphong-2026") is not None
    assert authenticate(username="city-leader", password="demo-haiphong-2026") is not None
    assert authenticate(username="city-office", password="wrong") is None
    head = Official.objects.get(user__username="head-10507")
    assert Unit.objects.get(code="10507").head == head
    # Accounts are printed once: a second run creates none and says nothing about them.
    call_command("load_haiphong", demo_password="demo-haiphong-2026")
    assert "head-<" not in capsys.readouterr().out


@pytest.mark.django_db
def test_without_password_accounts_cannot_sign_in():
    call_command("load_haiphong", verbosity=0)
    assert not get_user_model().objects.get(username="head-10507").has_usable_password()


@pytest.mark.django_db
def test_short_demo_password_refused_and_nothing_loaded():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("load_haiphong", demo_password="short")
    assert not Unit.objects.exists()
