"""Seed 003's data-sharing market: sessions, bids, money, raw data, forecasts."""
