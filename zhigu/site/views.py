from flask import render_template
from flask_login import current_user

from zhigu.archive import services
from zhigu.site import bp


@bp.route("/")
def home():
    return render_template("site/home.html", recent=services.recent_cases(current_user),
                           families=services.count_published_by_family(current_user))
