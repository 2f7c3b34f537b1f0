"""Vietnamese in the administrative register throughout: no shop's "quý khách" from the libraries'
catalogues, and no dead, disabled button dressed as the main action on sign-in."""

import re

import pytest

from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db
SHOP = ("quý khách", "quý vị", "token")


def visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)).lower()


def test_sign_in_speaks_the_administrative_register(client):
    page = client.get("/account/login/").content.decode()
    assert not [word for word in SHOP if re.search(rf"\b{word}\b", visible(page))]
    assert "disabled" not in page  # no "Quay lại" that cannot be pressed
    assert "Tiếp tục" in page


def test_two_factor_pages_speak_the_administrative_register(client, leader):
    sign_in(client, leader)
    for path in ("/account/two_factor/", "/account/two_factor/setup/"):
        page = visible(client.get(path, follow=True).content.decode())
        assert not [word for word in SHOP if re.search(rf"\b{word}\b", page)], path
