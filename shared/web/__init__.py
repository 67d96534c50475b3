"""HTTP glue every service shares: routing, error rendering, cache headers, middleware."""
