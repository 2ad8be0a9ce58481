"""Pages of notifications and subscriptions."""
from zhigu.notify import bp  # noqa: F401
from zhigu.notify import models  # noqa: F401
