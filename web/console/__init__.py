"""The web console: server-rendered page shells whose small ES modules call the JSON API."""
