"""The seed contracts at their original paths, one module per original system:

- `crypto_ticker`: seed 004, crypto-ticker (Django REST framework);
- `prices_tracker`: seed 001, the crypto prices tracker (Flask);
- `predico`: seed 003, the Predico data-sharing market REST API;
- `trading_datastore`: seed 000, the AI trading bot's datastore microservice.

Each answers with its seed's shapes, status codes and error envelope, and calls the
contexts' services; none reads a table itself.
"""
