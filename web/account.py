"""The signed-in person's own account (password change) and API token revocation for administrators."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from accounts import AccountError
from web import auth

bp = Blueprint("account", __name__, url_prefix="/admin")


def _accounts():
    return current_app.extensions["uec"].accounts


@bp.route("/password", methods=["GET", "POST"])
@auth.login_required
def password():
    user = auth.current_user()
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        try:
            _accounts().change_password(user.username, form.get("current_password", ""),
                                        form.get("new_password", ""), confirm=form.get("confirm_password", ""))
        except AccountError as exc:
            errors = exc.errors
        else:
            auth.restart_session(user.username)  # every other session of this account has ended
            flash("Your password has been changed. You have been signed out everywhere else.")
            return redirect(url_for("admin.index"))
    return render_template("admin/password.html", errors=errors), (400 if errors else 200)


@bp.route("/tokens", methods=["GET", "POST"])
@auth.login_required
def tokens():
    user = auth.current_user()
    auth.require(auth.can_manage_users(user), "see or revoke API tokens")
    if request.method == "POST":
        try:
            token_id = int(request.form.get("token_id", ""))
            gone = _accounts().revoke_token(token_id, by=user.username)
            flash(f"Revoked token {token_id} ({gone['name']!r} of {gone['username']}): it stops working at once.")
        except (ValueError, AccountError):
            flash("That token was not found: reload the page and try again.", "error")
        return redirect(url_for("account.tokens"))
    return render_template("admin/tokens.html", tokens=_accounts().tokens())
