"""The settings of the test run (pyproject.toml's pytest configuration names
this module): the project's own, and what a test run needs differently."""

from config.settings import *  # noqa: F403
from config.settings import STORAGES

# No collectstatic before the tests: the plain storage, each file found when it
# is asked for (tests/config/test_static.py collects into a folder of its own).
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
