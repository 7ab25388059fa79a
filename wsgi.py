"""WSGI entry point: `gunicorn wsgi:app`."""
from web import create_app

app = create_app()
app.extensions["uec"].snapshot()  # build this worker's routing snapshot before it takes requests
