"""Alerts: user strategies and the conditions that trigger them."""
