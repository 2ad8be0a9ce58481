"""Who may follow things, registered with zhigu.auth's `can`/`require`."""
from zhigu.auth.permissions import role_of, rule


@rule("notify.subscribe")
def can_subscribe(user, obj=None) -> bool:
    return role_of(user) is not None
