"""The Streamlit review app (approve, edit, reject samples); a view over `factory`'s store."""
