"""Who may see trends, registered with zhigu.auth's `can`/`require`."""
from zhigu.auth.permissions import role_of, rule


@rule("trends.view")
def can_view_trends(user, obj=None) -> bool:
    return role_of(user) is not None
