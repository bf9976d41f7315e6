"""The client Tessera uses to ask a recommender for items.

Public surface: `RecRequest`, `PersonalizationClient`, the transports
(`HttpTransport`, `InProcessTransport`) and the exception tree in `errors`.
The HTTP contract any recommender must honour is in the README ("The recommender contract").
"""
