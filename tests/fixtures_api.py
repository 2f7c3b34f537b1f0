"""API fixtures: a key for commune A, commune B and the department, a portal key, and clients.

Throttle budgets are per key and every test makes new keys, so no test inherits another's count.
"""

import pytest
from rest_framework.test import APIClient

from tasks_app.api.models import ApiKey


class Key:
    """An API key as a test holds it: the stored object and the secret sent in the header."""

    def __init__(self, obj, raw):
        self.obj, self.raw = obj, raw

    def client(self):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.raw}")
        return client


@pytest.fixture
def key_a(commune_a):
    return Key(*ApiKey.objects.create_key(name="Một cửa Thành Đông", unit=commune_a))


@pytest.fixture
def key_b(commune_b):
    return Key(*ApiKey.objects.create_key(name="Một cửa Hải Dương", unit=commune_b))


@pytest.fixture
def key_dept(department):
    return Key(*ApiKey.objects.create_key(name="Hệ thống Sở Tài chính", unit=department))


@pytest.fixture
def portal_key(db):
    return Key(*ApiKey.objects.create_key(name="Cổng thông tin thành phố", is_portal=True))


@pytest.fixture
def leader_client(leader):
    client = APIClient()
    client.force_login(leader.user)
    return client
