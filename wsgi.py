"""WSGI entry point: `gunicorn wsgi:app`."""
from uec.serving import LoadShedding
from web import create_app

app = create_app()
app.extensions["uec"].snapshot()  # build this worker's routing snapshot before it takes requests
app.wsgi_app = LoadShedding(app.wsgi_app)  # saturated: a fast 503 with Retry-After, never a long queue
