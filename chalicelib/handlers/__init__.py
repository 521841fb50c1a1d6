"""One module per event source the app handles: identity, notifications, licence check, bundle intake."""
