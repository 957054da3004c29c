"""The review app's pages: scripts that `review_app/app.py` routes with `st.navigation`."""
