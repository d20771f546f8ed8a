"""What the tests share: paths (``paths``), tiny programs and configs
(``programs``), graph checks (``graph_batch_norms``) and the Keras checks run
in a fresh interpreter (``keras_layer_checks``). Fixtures live in
``tests/conftest.py``; nothing imports it."""
