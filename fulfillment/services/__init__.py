"""State changes of the fulfillment app, one module per concern.

- `config`: the Webhook Editor's saves and the signing secret.
- `deliveries`: planning, attempting, retrying and dispatching deliveries.
- `emails`: the customer's order email, sent exactly once.
"""
