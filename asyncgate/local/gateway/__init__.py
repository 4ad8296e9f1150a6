"""API Gateway REST APIs: routing, VTL mapping templates, integrations, response selection."""
