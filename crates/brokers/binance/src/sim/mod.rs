//! A Binance simulator speaking Binance's REST protocol (being built).
