"""The pipeline: the only place that knows the order of the stages.

``process`` is the pure chain (parse → filter → clean → rewrite → sanitise → render), shared
by the server and ``feedscrub clean``; ``freshness`` decides when the upstream is asked;
``jobs`` says what a request asks for; ``service.Pipeline`` joins them for one app.
"""
