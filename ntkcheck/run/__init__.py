"""Jobs: one spec through the pipeline (certify or simulate), timed, with error capture.

``measure`` makes the γ-free measurement once per problem; ``job`` runs specs;
``result`` holds what they return. The JSON view of results is the report's
(``ntkcheck.report.document``).
"""
