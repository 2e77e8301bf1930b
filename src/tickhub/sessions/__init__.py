"""Seed 000: trading sessions of an AI trading bot, their transactions, training data
sets and model info."""
