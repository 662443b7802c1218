"""The engine's HTTP surfaces: the client that calls apps (``client``), the SDK and ``/v1`` routes
(``api``), GraphQL (``gql``), Prometheus metrics, the step-log endpoint and the inspection guard."""
