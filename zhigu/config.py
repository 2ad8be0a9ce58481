"""Safe defaults only. Secrets and deployment settings come from instance/config.py or ZHIGU_* variables."""

#: Results per page on the archive and search pages.
PAGE_SIZE = 20
#: Most similar cases an initiative or case page shows.
SIMILAR_LIMIT = 10
#: Seconds an index writer waits for the lock held by another process before giving up.
INDEX_WRITER_TIMEOUT = 30.0
#: Curators submit drafts for review by a manager of their park; False lets them publish directly.
REVIEW_REQUIRED = True
#: SMTP server of `zhigu notify send-digests` (MAIL_USERNAME / MAIL_PASSWORD from instance config or env).
MAIL_SERVER = "localhost"
MAIL_PORT = 25
MAIL_USE_TLS = False
MAIL_FROM = "zhigu@localhost"
#: Address of the site, for links in e-mails sent outside a request (digests from the command line).
BASE_URL = "http://localhost:5000"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
JSON_SORT_KEYS = False
