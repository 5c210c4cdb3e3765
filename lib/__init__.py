"""Helpers that know nothing of Django or of our apps, used across them: the
webhook transport and its connection pool, the URL policy, signing, ids, the
endpoint key and Markdown rendering. Nothing here imports `django` or an app
(tests/lib/test_layout.py keeps it so); settings are passed in by the caller."""
