"""The results viewer's pure parts: loading and tabulating result files (``loading``) and plotly figures (``figures``).

``viewer/app.py`` is layout only; everything here is importable and testable without Streamlit.
"""
