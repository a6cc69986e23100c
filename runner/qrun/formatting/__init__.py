"""``qrun fmt``: one canonical layout for manifests, comments kept.

:mod:`~qrun.formatting.keyorder` reads the key order from the published schema,
:mod:`~qrun.formatting.layout` lays a manifest's text out with ruamel.yaml (imported only
here), and :mod:`~qrun.formatting.files` checks or rewrites files, leaving invalid ones
untouched.
"""
