"""The web app: subscriber pages and the JSON API."""
