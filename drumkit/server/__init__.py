"""The DRUM prediction API over HTTP: a Flask app (`app.create_app`) served by waitress (`serve`)."""
