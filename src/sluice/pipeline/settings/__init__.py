"""Typed settings of every plugin the pipeline language knows (pydantic, ``extra="forbid"``).

:mod:`.common` holds the base models and Logstash's value coercions; :mod:`.filters`,
:mod:`.inputs` and :mod:`.outputs` one model per plugin; :mod:`sluice.pipeline.registry_spec`
maps plugin names to models.
"""
