"""The shared kernel: what every context may use and nothing in it imports a context.

- `time`: UTC now, integer microseconds since the epoch and exact conversions.
- `schemas`: the base API schema and the UTC time type every resource serialises with.
- `clock`: minute boundaries without drift (CoinMarketCap polling, the scanner).
- `errors`: the one domain error family; the web layer maps its kinds to HTTP statuses.
- `uow`: the unit of work as services see it (`Uow`), and `ConstraintViolation`.
"""
