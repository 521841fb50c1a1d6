"""The REST API: what each route does, bearer tokens, and the rules request bodies must follow."""
