"""Call-handler pages (NHS 111-style form)."""
from flask import Blueprint

bp = Blueprint("handler", __name__)
