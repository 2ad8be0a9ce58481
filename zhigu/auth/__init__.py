"""People, parks and roles: sign-up, log-in, profile, API tokens and the admin pages."""
from flask import Blueprint

from zhigu.extensions import login_manager

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(session_id: str):
    """Load the user of a session or remember-me cookie ("<id>:<secret>") whose server-side session is live."""
    from zhigu.auth.services import user_for_session  # lazy: importing any model runs this package; no services with it

    return user_for_session(session_id)


@login_manager.request_loader
def load_user_from_token(request):
    """Authenticate API calls that carry `Authorization: Bearer <token>`."""
    from zhigu.auth.services import user_for_token  # lazy: importing any model runs this package; no services with it

    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return user_for_token(secret.strip())
    return None


login_manager.login_view = "auth.login"
