"""``bucketaccess impact``: which declared uploads a proposed AWS change would break, before it lands.

Every ``BucketAccess`` is an upload that must keep working. Its scenario (what AWS holds now, as the
operator reads it) is evaluated twice: as it is, and with the proposed changes applied. The objects
whose verdict changes are reported with the layer and the statement that decides.

- :mod:`.changes`: the kinds of proposed change, and how each rewrites a scenario.
- :mod:`.terraform`: the changes a ``terraform show -json`` plan makes, from its ``resource_changes``.
- :mod:`.verdicts`: the verdict of a scenario as the operator would report it, before/after rows,
  and conflicts with the operator's managed statements.

Pure: no boto3, kopf or kubernetes; the CLI (:mod:`bucketaccess.cli.impact`) brings the scenarios.
"""
