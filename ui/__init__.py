"""Streamlit glue shared by the pages: session state, the workspace connection, widgets."""
