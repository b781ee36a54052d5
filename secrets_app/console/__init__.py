"""The HTMX console: views, forms and urls for people in a browser."""
