"""Numbers people read are written the Vietnamese way on Vietnamese pages (165.000; 30,5) and the
English way on English ones (165,000; 30.5)."""

from decimal import Decimal

from django.template import Context, Template
from django.utils import translation


def render(text: str, **context) -> str:
    return Template("{% load web_tags %}" + text).render(Context(context))


def test_counts_are_grouped_in_the_readers_language():
    with translation.override("vi"):
        assert render("{{ n|num }}", n=165000) == "165.000"
        assert render("{{ n|num }}", n=Decimal("30.5")) == "30,5"
        assert render("{{ n|num }}", n=7) == "7"
    with translation.override("en"):
        assert render("{{ n|num }}", n=165000) == "165,000"
