"""The local stack: embedded AWS (moto server), the API server, the event pollers, state across restarts."""
