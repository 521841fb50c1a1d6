"""Outbound HTTP to tenants' own endpoints (webhooks): which URLs are allowed, the connection to
the very address that was checked (no DNS rebinding, no redirects), and Standard Webhooks signing."""
