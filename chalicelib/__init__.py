"""Code that ships to AWS Lambda. Nothing here creates an AWS client at import time."""
