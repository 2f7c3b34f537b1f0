"""The production settings plus one bare view (bench/urls.py) for the API throughput baseline."""

from accountability.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
