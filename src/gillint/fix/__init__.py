"""``--fix``: libcst codemods that repair what gillint finds.

- ``model``: what a fix is (applicability, message, edits) and the changes a fixer plans;
- ``document``: the file as libcst parses it, and the questions fixers ask (the node at a finding's
  position, scopes, free variables, names, imports);
- ``gilNNN``: one fixer per fixable rule, ``plan(finding, context)``;
- ``apply``: the changes of several fixes in one transformer pass, conflicts, text edits;
- ``engine``: the fixes of one file, checked by linting their result, applied round after round;
- ``session``: the command line's fix modes (offering fixes, ``--fix``, ``--diff``, ``--show-fixes``).
"""
