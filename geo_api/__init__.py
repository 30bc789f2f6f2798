"""Satu Peta Kota Tangerang: the HTTP API, the CLI and the domain services behind them."""
