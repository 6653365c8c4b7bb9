"""The sandbox EHR's order entry: a prescriber composes a ketamine order from the chart, the sandbox calls the
orders service's CDS Hooks services as a CDS client (discovery, ``order-select``, ``order-sign``, feedback), shows
the cards, and only then places the order as a ``cpoe-order-placed`` event, as the CPOE of a hospital EHR would."""
